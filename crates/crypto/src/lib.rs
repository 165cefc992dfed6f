//! Small adapters for the non-storage ports: the system clock, a token minter on the OS
//! CSPRNG, bcrypt for user passwords and client secrets, and JOSE (signing keys, JWTs)
//! with `jsonwebtoken`. No rules live here.

mod clock;
mod hasher;
mod jose;
mod minter;

pub use clock::SystemClock;
pub use hasher::{BcryptHasher, HasherCosts};
pub use jose::{JoseKeys, JoseVerifier, KeyEncryptionKey};
pub use minter::OsTokenMinter;
