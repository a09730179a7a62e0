//! HS256 access tokens with issuer and audience checked; nothing else is accepted.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub ttl: Duration,
}

impl JwtKeys {
    /// Panics only for an empty secret, which configuration never produces.
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret).expect("HMAC keys accept any length"),
            decoding: DecodingKey::from_secret(secret).expect("HMAC keys accept any length"),
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl,
        }
    }

    pub fn issue(&self, user_id: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// The user id of a valid token; `None` for anything else (another algorithm, `none`, a bad
    /// signature, expired, wrong issuer or audience, malformed).
    pub fn verify(&self, token: &str) -> Option<Uuid> {
        self.verify_until(token).map(|(user, _)| user)
    }

    /// The user id of a valid token and when it expires (seconds since the epoch), for what
    /// must end with it (a live stream).
    pub fn verify_until(&self, token: &str) -> Option<(Uuid, i64)> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| (d.claims.sub, d.claims.exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            b"0123456789abcdef0123456789abcdef",
            "huying",
            "huying-api",
            Duration::from_secs(900),
        )
    }

    #[test]
    fn issued_tokens_verify() {
        let id = Uuid::now_v7();
        assert_eq!(keys().verify(&keys().issue(id)), Some(id));
        let (user, exp) = keys().verify_until(&keys().issue(id)).unwrap();
        assert_eq!(user, id);
        assert!((exp - chrono::Utc::now().timestamp() - 900).abs() <= 1);
    }

    #[test]
    fn rejects_alg_none_other_keys_and_other_audiences() {
        let k = keys();
        let token = k.issue(Uuid::now_v7());
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(k.verify(&format!("{none_header}.{}.", parts[1])), None);
        let other = JwtKeys::new(
            b"another secret of thirty-two byt",
            "huying",
            "huying-api",
            k.ttl,
        );
        assert_eq!(k.verify(&other.issue(Uuid::now_v7())), None);
        let other_aud = JwtKeys::new(
            b"0123456789abcdef0123456789abcdef",
            "huying",
            "elsewhere",
            k.ttl,
        );
        assert_eq!(k.verify(&other_aud.issue(Uuid::now_v7())), None);
        assert_eq!(k.verify("not.a.token"), None);
    }
}
