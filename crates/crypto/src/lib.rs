//! Small adapters for the non-storage ports: the system clock, a token minter on the OS
//! CSPRNG, bcrypt for user passwords and client secrets (optionally on a lane of
//! low-priority threads), the permit pool that bounds how many bcrypt checks run at once,
//! and JOSE (signing keys, JWTs, DPoP proofs) with `jsonwebtoken`. No rules live here.

mod clock;
mod dpop_proof;
mod hasher;
mod id_token_wire;
mod jose;
mod lane;
mod minter;
mod permits;

pub use clock::SystemClock;
pub use dpop_proof::JoseProofVerifier;
pub use hasher::{BcryptHasher, HasherCosts};
pub use jose::{JoseKeys, JoseVerifier, KeyEncryptionKey};
pub use lane::SlowLane;
pub use minter::OsTokenMinter;
pub use permits::PermitPool;
