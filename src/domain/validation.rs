//! Collects field-level errors so that one bad request reports every bad field at once.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON path of the field, e.g. `emergency_contacts[0].phone`.
    pub field: String,
    /// Stable machine code, e.g. `invalid_phone`.
    pub code: &'static str,
}

#[derive(Debug, Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses one field; on failure records `field` with the parser's code and returns `None`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, &'static str>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(code) => {
                self.push(field, code);
                None
            }
        }
    }

    /// Like `check` for optional inputs: `None` stays `None`, a bad value is recorded.
    pub fn check_opt<I, T>(
        &mut self,
        field: &str,
        input: Option<I>,
        parse: impl FnOnce(I) -> Result<T, &'static str>,
    ) -> Option<Option<T>> {
        match input {
            None => Some(None),
            Some(i) => self.check(field, parse(i)).map(Some),
        }
    }

    pub fn push(&mut self, field: impl Into<String>, code: &'static str) {
        self.errors.push(FieldError {
            field: field.into(),
            code,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Ends validation: the value if nothing failed, else every error.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if self.errors.is_empty() {
            // Every `check` succeeded, so `build` has what it needs.
            build().ok_or_else(|| {
                vec![FieldError {
                    field: String::new(),
                    code: "invalid",
                }]
            })
        } else {
            Err(self.errors)
        }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

/// Classifies serde's complaint about the value at `path` (as `serde_path_to_error` gives it)
/// into a field error. For an unknown field the path already ends with that field; for a
/// missing one it names the enclosing object.
pub fn serde_field_error(path: &str, msg: &str) -> FieldError {
    let path = if path == "." { "" } else { path };
    let quoted = msg.split('`').nth(1).unwrap_or_default();
    let (field, code) = if msg.starts_with("missing field") {
        let f = if path.is_empty() {
            quoted.to_string()
        } else {
            format!("{path}.{quoted}")
        };
        (f, "required")
    } else if msg.starts_with("unknown field") {
        (
            if path.is_empty() {
                quoted.to_string()
            } else {
                path.to_string()
            },
            "unknown_field",
        )
    } else if msg.starts_with("unknown variant") {
        (path.to_string(), "unknown_value")
    } else {
        (path.to_string(), "invalid_value")
    };
    FieldError { field, code }
}

/// Marker for "this field must be present".
pub fn required<T>(v: Option<T>) -> Result<T, &'static str> {
    v.ok_or("required")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_error_and_builds_only_when_clean() {
        let mut f = Fields::new();
        let a = f.check("a", Ok::<_, &str>(1));
        let b: Option<i32> = f.check("b", Err("too_long"));
        let c = f.check_opt("c", Some("x"), |_| Err::<i32, _>("invalid_phone"));
        assert_eq!(a, Some(1));
        assert_eq!(b, None);
        assert_eq!(c, None);
        let err = f.finish(|| Some(())).unwrap_err();
        assert_eq!(
            err.iter()
                .map(|e| (e.field.as_str(), e.code))
                .collect::<Vec<_>>(),
            vec![("b", "too_long"), ("c", "invalid_phone")]
        );
        let ok = Fields::new().finish(|| Some(5)).unwrap();
        assert_eq!(ok, 5);
    }
}
