//! TLS for what the server itself calls (webhook receivers, WeChat): rustls on the `ring` provider,
//! installed once as the process's default before any HTTP client is built.

use std::sync::Once;

pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err: a provider is installed already (an embedding application's); keep it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
