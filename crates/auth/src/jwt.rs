//! HS256 JWTs behind [`TokenService`].

use chrono::{Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use pi_domain::auth::{IssuedToken, TokenError, TokenService};
use pi_domain::user::UserId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The claims Pi puts in an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Subject: the user id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Issues and verifies HS256 tokens. Only HS256 is accepted: `alg: none` and every other
/// algorithm fail verification.
pub struct JwtTokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    lifetime: Duration,
    validation: Validation,
}

impl std::fmt::Debug for JwtTokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtTokenService")
            .field("secret", &"[redacted]")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl JwtTokenService {
    /// A service signing with `secret`; tokens live `lifetime_minutes`.
    pub fn new(secret: &[u8], lifetime_minutes: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            lifetime: Duration::minutes(lifetime_minutes),
            validation,
        }
    }
}

impl TokenService for JwtTokenService {
    fn issue(&self, user_id: UserId) -> Result<IssuedToken, TokenError> {
        let now = Utc::now();
        let expires_at = now + self.lifetime;
        let claims = Claims {
            sub: user_id.to_string(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| TokenError::Issue(e.to_string()))?;
        Ok(IssuedToken {
            token,
            expires_at,
            expires_in_secs: self.lifetime.num_seconds(),
        })
    }

    fn verify(&self, token: &str) -> Result<UserId, TokenError> {
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                }
            })?;
        Uuid::parse_str(&data.claims.sub)
            .map(UserId)
            .map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let svc = JwtTokenService::new(b"0123456789abcdef0123456789abcdef", 60);
        let id = UserId::new();
        let issued = svc.issue(id).unwrap();
        assert_eq!(issued.expires_in_secs, 3600);
        assert_eq!(svc.verify(&issued.token).unwrap(), id);
    }

    #[test]
    fn expired_and_foreign_tokens_are_refused() {
        let svc = JwtTokenService::new(b"secret-one-secret-one-secret-one", -1);
        let token = svc.issue(UserId::new()).unwrap().token;
        assert_eq!(svc.verify(&token), Err(TokenError::Expired));

        let other = JwtTokenService::new(b"secret-two-secret-two-secret-two", 60);
        let token = other.issue(UserId::new()).unwrap().token;
        let svc = JwtTokenService::new(b"secret-one-secret-one-secret-one", 60);
        assert_eq!(svc.verify(&token), Err(TokenError::Invalid));
        assert_eq!(svc.verify("not.a.jwt"), Err(TokenError::Invalid));
    }
}
