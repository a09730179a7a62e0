//! Open311's XML: a JSON answer written as elements. An object's fields are child elements (in
//! name order, as serde_json keeps them; clients read them by name); a list is repeated elements named by the list's singular (`endpoints` → `endpoint`);
//! absent fields are left out. Text is escaped by the writer.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

type W = Writer<Vec<u8>>;

fn element(w: &mut W, name: &str, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Null => return Ok(()),
        Value::Array(items) => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            let item = name.strip_suffix('s').unwrap_or(name);
            for i in items {
                element(w, item, i)?;
            }
        }
        Value::Object(fields) => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            for (k, v) in fields {
                element(w, k, v)?;
            }
        }
        Value::String(s) => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            w.write_event(Event::Text(BytesText::new(s)))?;
        }
        other => {
            w.write_event(Event::Start(BytesStart::new(name)))?;
            w.write_event(Event::Text(BytesText::new(&other.to_string())))?;
        }
    }
    w.write_event(Event::End(BytesEnd::new(name)))
}

/// `value` as a document with root element `root`: a list's items are `root`'s singular
/// unless `item` names them (`service_requests` holds `request`s).
pub fn document(root: &str, item: Option<&str>, value: &Value) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    let written = (|| -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))?;
        match (value, item) {
            (Value::Array(items), Some(item)) => {
                w.write_event(Event::Start(BytesStart::new(root)))?;
                for i in items {
                    element(&mut w, item, i)?;
                }
                w.write_event(Event::End(BytesEnd::new(root)))
            }
            _ => element(&mut w, root, value),
        }
    })();
    // Writing to memory does not fail.
    debug_assert!(written.is_ok());
    w.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_repeat_their_singular_and_text_is_escaped() {
        let doc = document(
            "service_requests",
            Some("request"),
            &json!([{"service_request_id": "1", "description": "<a & b>", "lat": 1.5, "x": null,
                     "formats": ["a", "b"]}]),
        );
        let s = String::from_utf8(doc).unwrap();
        assert_eq!(
            s,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request>\
             <description>&lt;a &amp; b&gt;</description><formats><format>a</format><format>b</format></formats>\
             <lat>1.5</lat><service_request_id>1</service_request_id></request></service_requests>"
        );
    }
}
