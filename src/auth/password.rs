//! Argon2id password hashing (RFC 9106 / OWASP parameters: 19 MiB, 2 passes), computed in
//! memory the caller provides so that it can be reused (see `hashing`).

use argon2::password_hash::{
    Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng, rand_core::RngCore,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Blocks of 1 KiB that one computation with the default parameters needs.
pub const MEMORY_BLOCKS: usize = Params::DEFAULT_M_COST as usize;

/// Random bytes in the place of the hash, with the default parameters: no known password
/// matches it, and checking a login that does not exist against it costs a real check.
const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$0Vb2xMZ6wpEsQCRa2ldFQQ$pSbKkwgsxgKoGtUzTDWfUS0ma9qITy7IcvlfQHxJQ2o";

/// Fresh memory for one computation with the default parameters.
pub fn memory() -> Vec<Block> {
    vec![Block::default(); MEMORY_BLOCKS]
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for `password` with a new salt.
pub fn hash(memory: &mut [Block], password: &str) -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
        .expect("the default parameters fit the memory of `memory()`");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("default parameters"),
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).expect("32 bytes is a valid output")),
    }
    .to_string()
}

/// Whether `password` matches the PHC string `stored`; a string that does not parse matches
/// nothing. Hashes made with more memory than `memory` holds (none are, today) get their own.
pub fn verify(memory: &mut [Block], stored: &str, password: &str) -> bool {
    let Ok(h) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (h.hash, h.salt) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(h.algorithm), Params::try_from(&h))
    else {
        return false;
    };
    let Ok(version) = h.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut own;
    let memory = if params.block_count() > memory.len() {
        own = vec![Block::default(); params.block_count()];
        &mut own[..]
    } else {
        memory
    };
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, memory)
        .is_ok_and(|()| Output::new(&out).is_ok_and(|o| o == expected))
}

/// Spends the same time as a real check when the account does not exist, so that response
/// times do not reveal which logins exist.
pub fn verify_dummy(memory: &mut [Block], password: &str) {
    let _ = verify(memory, DUMMY, password);
}

/// 8..=128 characters.
pub fn check_strength(password: &str) -> Result<(), &'static str> {
    let n = password.chars().count();
    if n < 8 {
        Err("weak_password")
    } else if n > 128 {
        Err("too_long")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verifiable() {
        let mut m = memory();
        let h = hash(&mut m, "correct horse");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(h, hash(&mut m, "correct horse"));
        assert!(verify(&mut m, &h, "correct horse"));
        assert!(!verify(&mut m, &h, "wrong horse"));
        assert!(!verify(&mut m, "garbage", "x"));
        assert_eq!(check_strength("short"), Err("weak_password"));
        assert!(check_strength("long enough").is_ok());
    }

    /// Reused memory must not change results, and the hashes must be those of the crate's own
    /// hasher (stored hashes were made with it and are checked with this module, and back).
    #[test]
    fn agrees_with_the_crate_hasher_in_both_directions() {
        let mut m = memory();
        let crate_made = Argon2::default()
            .hash_password(b"crate made", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify(&mut m, &crate_made, "crate made"));
        assert!(!verify(&mut m, &crate_made, "crate mad"));
        let ours = hash(&mut m, "ours");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"ours", &parsed).is_ok());
        assert!(
            Argon2::default()
                .verify_password(b"theirs", &parsed)
                .is_err()
        );
    }

    #[test]
    fn hashes_needing_more_memory_than_given_still_verify() {
        let big = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(2 * Params::DEFAULT_M_COST, 1, 1, None).unwrap(),
        )
        .hash_password(b"bigger", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        let mut small = vec![Block::default(); 8];
        assert!(verify(&mut small, &big, "bigger"));
        assert!(!verify(&mut small, &big, "smaller"));
    }

    #[test]
    fn the_dummy_costs_what_a_real_hash_costs() {
        let dummy = PasswordHash::new(DUMMY).unwrap();
        let real_hash = hash(&mut memory(), "x");
        let real = PasswordHash::new(&real_hash).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(!verify(&mut memory(), DUMMY, "not-a-real-password!"));
    }
}
