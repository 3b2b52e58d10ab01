//! The JSON form's helper for truncation bounds: infinite values as
//! `"inf"` / `"-inf"` (JSON has no infinity). [`Init`](super::Init) itself is
//! (de)serialized by serde, internally tagged with the scheme names
//! (`{"scheme":"kaiming_normal", ...}`); missing fields take the scheme
//! table's defaults through the parameters' `Default` impls.

#[cfg(feature = "serde")]
use serde::{de, Deserialize, Deserializer, Serializer};

pub(super) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else if *v > 0.0 {
        s.serialize_str("inf")
    } else if *v < 0.0 {
        s.serialize_str("-inf")
    } else {
        s.serialize_str("nan")
    }
}

pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[cfg_attr(feature = "serde", derive(Deserialize))]
    #[cfg_attr(feature = "serde", serde(untagged))]
    enum NumOrText {
        Num(f64),
        Text(String),
    }
    match NumOrText::deserialize(d)? {
        NumOrText::Num(x) => Ok(x),
        NumOrText::Text(t) => match t.as_str() {
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            _ => Err(de::Error::custom(format!(
                "expected a number, \"inf\" or \"-inf\", found \"{t}\""
            ))),
        },
    }
}
