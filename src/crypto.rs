//! Secrets at rest: AES-256-GCM for ID-card numbers, keyed hashes for lookups, SHA-256 for
//! opaque tokens. All keys come from one data key (environment, or a dev file under ./data).

use aes_gcm::aead::{Aead, KeyInit, OsRng};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the data key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("ciphertext could not be decrypted (wrong key or corrupted)")]
    Decrypt,
    #[error("key file: {0}")]
    Io(#[from] std::io::Error),
}

/// Encrypts personal data and derives the other keys from one master key.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
    lookup_key: [u8; 32],
    jwt_key: [u8; 32],
    client_secret_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

fn derive(master: &[u8; 32], label: &str) -> [u8; 32] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(master).expect("any key length");
    mac.update(label.as_bytes());
    mac.finalize().into_bytes().into()
}

impl Vault {
    pub fn new(master: [u8; 32]) -> Self {
        let aes = derive(&master, "huying/pii/aes-256-gcm");
        Self {
            cipher: Aes256Gcm::new_from_slice(&aes).expect("32-byte key"),
            lookup_key: derive(&master, "huying/pii/lookup"),
            jwt_key: derive(&master, "huying/jwt/hs256"),
            client_secret_key: derive(&master, "huying/clients/secret"),
        }
    }

    /// The data key's fingerprint (through a key derived from it), for the key check.
    pub fn fingerprint(&self) -> String {
        key_fingerprint(&self.lookup_key)
    }

    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let bytes = STANDARD.decode(s.trim()).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::new(key))
    }

    /// Development: a key generated once and kept in `dir/data.key` (mode 0600).
    pub fn load_or_create_dev(dir: &std::path::Path) -> Result<Self, CryptoError> {
        let path = dir.join("data.key");
        if let Ok(s) = std::fs::read_to_string(&path) {
            return Self::from_base64(&s);
        }
        std::fs::create_dir_all(dir)?;
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        std::fs::write(&path, STANDARD.encode(key))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Self::new(key))
    }

    /// nonce (12 bytes) ‖ ciphertext+tag.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(&nonce, plaintext.as_bytes())
                .expect("AES-GCM encryption of a short string cannot fail"),
        );
        out
    }

    pub fn decrypt(&self, blob: &[u8]) -> Result<String, CryptoError> {
        if blob.len() < 12 + 16 {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = blob.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Decrypt)
    }

    /// A keyed hash for equality lookups (duplicate ID numbers) without storing the value.
    pub fn lookup_hash(&self, value: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.lookup_key).expect("any key length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// How an integration client's secret is kept: a keyed hash. The secret is 32 random bytes,
    /// so no salt or stretching is needed, and the check costs a hash rather than an Argon2 run
    /// on every token request; the key means a copy of the table alone cannot test guesses.
    pub fn client_secret_hash(&self, secret: &str) -> String {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.client_secret_key).expect("any key length");
        mac.update(secret.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// A secret for HS256 JWTs when no explicit one is configured.
    pub fn jwt_key(&self) -> &[u8; 32] {
        &self.jwt_key
    }
}

/// A keyed fingerprint of a secret: equal for equal secrets, and reveals nothing of them.
pub fn key_fingerprint(secret: &[u8]) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("any key length");
    mac.update(b"huying/key-check/v1");
    hex::encode(mac.finalize().into_bytes())
}

/// A fresh opaque token (refresh tokens): 32 random bytes, base64url.
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The prefix of integration clients' secrets, so that a leaked one is recognisable (secret
/// scanners) and never mistaken for another kind of token.
pub const CLIENT_SECRET_PREFIX: &str = "hyc_";

/// A fresh integration client secret: the prefix and 32 random bytes, base64url.
pub fn new_client_secret() -> String {
    format!("{CLIENT_SECRET_PREFIX}{}", random_token())
}

/// Tokens are stored as their SHA-256; they are random, so no salt or stretching is needed.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_with_fresh_nonces_and_round_trips() {
        let v = Vault::new([7; 32]);
        let a = v.encrypt("11010519491231002X");
        let b = v.encrypt("11010519491231002X");
        assert_ne!(a, b, "each encryption uses a new nonce");
        assert_eq!(v.decrypt(&a).unwrap(), "11010519491231002X");
        assert!(!String::from_utf8_lossy(&a).contains("1101051949"));
    }

    #[test]
    fn another_key_or_a_flipped_bit_cannot_decrypt() {
        let v = Vault::new([7; 32]);
        let mut blob = v.encrypt("secret");
        assert!(Vault::new([8; 32]).decrypt(&blob).is_err());
        blob[20] ^= 1;
        assert!(v.decrypt(&blob).is_err());
        assert!(v.decrypt(&[1, 2, 3]).is_err());
    }

    #[test]
    fn lookup_hashes_are_keyed_and_stable() {
        let v = Vault::new([7; 32]);
        assert_eq!(v.lookup_hash("x"), v.lookup_hash("x"));
        assert_ne!(v.lookup_hash("x"), Vault::new([8; 32]).lookup_hash("x"));
        assert!(Vault::from_base64("not base64!").is_err());
        assert!(Vault::from_base64(&STANDARD.encode([1u8; 16])).is_err());
    }
}
