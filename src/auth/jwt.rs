//! HS256 access tokens with issuer and audience checked; nothing else is accepted. A token is a
//! person's, or (with `client_id`, RFC 9068) an integration client's with its scopes.

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
    /// Client tokens only: the client (equal to `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Uuid>,
    /// Client tokens only: the granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Client tokens only: the secret generation the token was granted under; a rotation ends
    /// the tokens of earlier ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "gen")]
    pub generation: Option<i64>,
}

/// Who a valid token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(Uuid),
    Client {
        id: Uuid,
        scope: String,
        generation: i64,
    },
}

impl Subject {
    pub fn id(&self) -> Uuid {
        match self {
            Subject::User(id) | Subject::Client { id, .. } => *id,
        }
    }
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

    fn claims(&self, sub: Uuid, ttl: Duration) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            exp: now + ttl.as_secs() as i64,
            jti: Uuid::now_v7(),
            client_id: None,
            scope: None,
            generation: None,
        }
    }

    fn sign(&self, claims: &Claims) -> String {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    pub fn issue(&self, user_id: Uuid) -> String {
        self.sign(&self.claims(user_id, self.ttl))
    }

    /// A client-credentials token: the client, its granted scopes and secret generation.
    pub fn issue_client(
        &self,
        client_id: Uuid,
        scope: &str,
        generation: i64,
        ttl: Duration,
    ) -> String {
        let mut claims = self.claims(client_id, ttl);
        claims.client_id = Some(client_id);
        claims.scope = Some(scope.to_string());
        claims.generation = Some(generation);
        self.sign(&claims)
    }

    /// The user id of a valid person's token; `None` for anything else (a client's token,
    /// another algorithm, `none`, a bad signature, expired, wrong issuer or audience,
    /// malformed).
    pub fn verify(&self, token: &str) -> Option<Uuid> {
        self.verify_until(token).map(|(user, _)| user)
    }

    /// The user id of a valid person's token and when it expires (seconds since the epoch), for
    /// what must end with it (a live stream).
    pub fn verify_until(&self, token: &str) -> Option<(Uuid, i64)> {
        let claims = self.decode(token)?;
        match Self::subject_of(&claims)? {
            Subject::User(id) => Some((id, claims.exp)),
            Subject::Client { .. } => None,
        }
    }

    /// Whom a valid token stands for, a person or a client.
    pub fn verify_subject(&self, token: &str) -> Option<Subject> {
        Self::subject_of(&self.decode(token)?)
    }

    fn decode(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }

    /// A token with any client claim must have all of them, naming its own subject.
    fn subject_of(c: &Claims) -> Option<Subject> {
        match (&c.client_id, &c.scope, c.generation) {
            (None, None, None) => Some(Subject::User(c.sub)),
            (Some(id), Some(scope), Some(generation)) if *id == c.sub => Some(Subject::Client {
                id: *id,
                scope: scope.clone(),
                generation,
            }),
            _ => None,
        }
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

    #[test]
    fn client_tokens_are_never_taken_for_a_persons() {
        let k = keys();
        let id = Uuid::now_v7();
        let token = k.issue_client(id, "requests:read", 3, Duration::from_secs(60));
        assert_eq!(k.verify(&token), None);
        assert_eq!(k.verify_until(&token), None);
        assert_eq!(
            k.verify_subject(&token),
            Some(Subject::Client {
                id,
                scope: "requests:read".into(),
                generation: 3
            })
        );
        assert_eq!(k.verify_subject(&k.issue(id)), Some(Subject::User(id)));
        // Half a client token (a scope without the client) is no token at all.
        let mut c = k.claims(id, k.ttl);
        c.scope = Some("requests:read".into());
        assert_eq!(k.verify_subject(&k.sign(&c)), None);
        c.client_id = Some(Uuid::now_v7());
        c.generation = Some(1);
        assert_eq!(k.verify_subject(&k.sign(&c)), None);
    }
}
