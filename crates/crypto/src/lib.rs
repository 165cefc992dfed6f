//! Small adapters for the non-storage ports: the system clock, a token minter on the OS
//! CSPRNG, bcrypt for user passwords and client secrets (optionally on a lane of
//! low-priority threads), and the permit pool that bounds how many bcrypt checks run at
//! once. No rules live here.

mod clock;
mod hasher;
mod lane;
mod minter;
mod permits;

pub use clock::SystemClock;
pub use hasher::{BcryptHasher, HasherCosts};
pub use lane::SlowLane;
pub use minter::OsTokenMinter;
pub use permits::PermitPool;
