//! Security adapters for the domain's auth ports: bcrypt password hashing on tokio's blocking
//! pool, and HS256 JWT access tokens.

mod hasher;
mod jwt;

pub use hasher::BcryptHasher;
pub use jwt::{Claims, JwtTokenService};
