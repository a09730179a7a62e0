//! The two languages the station answers in. Chosen from `Accept-Language` by the HTTP layer
//! (`http::i18n`); the words themselves live with what they describe.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}
