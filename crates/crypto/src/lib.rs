//! Small adapters for the non-storage ports: the system clock, a token minter on the OS
//! CSPRNG, and bcrypt for user passwords and client secrets. No rules live here.

mod clock;
mod hasher;
mod minter;

pub use clock::SystemClock;
pub use hasher::{BcryptHasher, HasherCosts};
pub use minter::OsTokenMinter;
