//! Updates are JSON merge patches (RFC 7396) applied to the object's writable form, then
//! validated exactly like a creation: one set of rules for both.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::FieldError;
use crate::services::{ServiceError, ServiceResult};

/// RFC 7396: objects merge key by key, `null` removes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let t = target.as_object_mut().expect("just made an object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Applies `patch` to `current` and reads the result back as the input type, reporting type
/// errors with the field's path.
pub fn apply<T: Serialize + DeserializeOwned>(current: &T, patch: &Value) -> ServiceResult<T> {
    if !patch.is_object() {
        return Err(ServiceError::Validation(vec![FieldError {
            field: String::new(),
            code: "invalid_value",
        }]));
    }
    let mut doc =
        serde_json::to_value(current).map_err(|e| ServiceError::Internal(e.to_string()))?;
    merge(&mut doc, patch);
    deserialize(doc)
}

/// Deserialises a JSON value, mapping serde's complaints to field errors.
pub fn deserialize<T: DeserializeOwned>(doc: Value) -> ServiceResult<T> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        ServiceError::Validation(vec![serde_field_error(&path, &inner.to_string())])
    })
}

pub use crate::domain::validation::serde_field_error;

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396_examples() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1, 2]});
        merge(&mut t, &json!({"a": [3]}));
        assert_eq!(t, json!({"a": [3]}));
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Input {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    }

    #[test]
    fn patches_read_back_through_the_input_type() {
        let cur = Input {
            name: "a".into(),
            phone: Some("1".into()),
        };
        assert_eq!(
            apply(&cur, &json!({"phone": null})).unwrap(),
            Input {
                name: "a".into(),
                phone: None
            }
        );
        let ServiceError::Validation(e) = apply(&cur, &json!({"name": 5})).unwrap_err() else {
            panic!()
        };
        assert_eq!((e[0].field.as_str(), e[0].code), ("name", "invalid_value"));
        let ServiceError::Validation(e) = apply(&cur, &json!({"nmae": "x"})).unwrap_err() else {
            panic!()
        };
        assert_eq!((e[0].field.as_str(), e[0].code), ("nmae", "unknown_field"));
        let ServiceError::Validation(e) = apply(&cur, &json!({"name": null})).unwrap_err() else {
            panic!()
        };
        assert_eq!((e[0].field.as_str(), e[0].code), ("name", "required"));
        assert!(apply(&cur, &json!([1])).is_err());
    }
}
