//! Versioned record encoding: one format byte, then JSON. A reader that meets a
//! newer format refuses clearly instead of misreading it.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::StoreError;

const FORMAT_JSON_V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_JSON_V1];
    // Invariant: our records are plain data (no maps with non-string keys), so
    // serialising them cannot fail.
    serde_json::to_writer(&mut out, value).expect("records serialise to JSON");
    out
}

pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&FORMAT_JSON_V1, body)) => {
            serde_json::from_slice(body).map_err(|e| StoreError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            })
        }
        Some((format, _)) => Err(StoreError::Corrupt {
            key: key.to_string(),
            reason: format!("unknown record format {format}"),
        }),
        None => Err(StoreError::Corrupt {
            key: key.to_string(),
            reason: "empty record".into(),
        }),
    }
}
