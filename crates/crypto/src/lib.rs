//! Small adapters for the non-storage ports: the system clock, a token minter on the OS
//! CSPRNG, bcrypt for user passwords and client secrets, and the permit pool that bounds
//! how many bcrypt checks run at once. No rules live here.

mod clock;
mod hasher;
mod minter;
mod permits;

pub use clock::SystemClock;
pub use hasher::{BcryptHasher, HasherCosts};
pub use minter::OsTokenMinter;
pub use permits::PermitPool;
