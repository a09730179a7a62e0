//! Domain types: pure, validated when constructed. A value of these types is always valid.

pub mod activity;
pub mod assignment;
pub mod attendance;
pub mod audience;
pub mod care;
pub mod certificate;
pub mod code;
pub mod deliberation;
pub mod geo;
pub mod grading;
pub mod help_request;
pub mod id_card;
pub mod import_sheet;
pub mod lang;
pub mod mask;
pub mod mediation;
pub mod mobilisation;
pub mod notice_text;
pub mod open311;
pub mod phone;
pub mod places;
pub mod policy;
pub mod public_notice;
pub mod rates;
pub mod role;
pub mod scope;
pub mod score;
pub mod sla;
pub mod text;
pub mod time_bank;
pub mod time_zone;
pub mod urgency;
pub mod validation;
pub mod visit;
pub mod volunteer;
pub mod webhook;
pub mod wechat_message;
pub mod wechat_template;

pub use validation::{FieldError, Fields};

/// A closed set of states or kinds, kept as lowercase text. Rows carry the enum itself: it
/// encodes as its text and decoding an unknown stored value is an error, never another value.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Result<Self, &'static str> {
                match s { $($s => Ok($name::$variant),)+ _ => Err("unknown_value") }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            &'static str: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <&str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <&str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut DB::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(value: DB::ValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Self::parse(s).map_err(|_| {
                    format!("unknown {} {:?} in the database", stringify!($name), s).into()
                })
            }
        }
    };
}
pub(crate) use string_enum;
