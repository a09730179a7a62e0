//! What every request can reach: the database, keys and settings.

use crate::auth::{JwtKeys, PasswordHashing};
use crate::config::Config;
use crate::crypto::Vault;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub passwords: PasswordHashing,
    pub vault: Vault,
    pub config: Config,
}
