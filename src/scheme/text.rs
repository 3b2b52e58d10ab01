//! The text form: [`Display`](fmt::Display) and [`FromStr`] of [`Init`].
//!
//! `name`, `name()` or `name(args)`: positional then keyword arguments,
//! bound to the parameter names of the scheme table ([`super::table`]),
//! whose defaults fill the arguments not given.

use core::fmt;
use core::str::FromStr;

use crate::error::{Error, Result};

use super::table::{Dflt, Form, AMBIGUOUS};
use super::{FanMode, Init, Nonlinearity, PriorActivation, ScalingDistribution};

/// Shortest text that parses back to the same f64: integers without a
/// fraction, the rest in Rust's round-trip notation.
pub(super) fn fmt_num(x: f64) -> String {
    if x.is_finite() && x == x.trunc() && x.abs() < 1e15 {
        format!("{x}")
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

impl fmt::Display for Init {
    /// The canonical text form: the name, then every parameter as a
    /// keyword argument; parses back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let params = self.params();
        if !params.is_empty() {
            f.write_str("(")?;
            for (i, (k, v)) in params.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}={v}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

pub(super) fn choice_error(s: &str, what: &str, valid: &[&str]) -> Error {
    Error::Parse {
        input: s.into(),
        position: 0,
        message: format!("`{s}` is not {what}; expected one of: {}", valid.join(", ")),
    }
}

#[derive(Debug, Clone)]
enum Value<'a> {
    Atom {
        text: &'a str,
        pos: usize,
    },
    List {
        items: Vec<(&'a str, usize)>,
        pos: usize,
    },
}

impl Value<'_> {
    fn pos(&self) -> usize {
        match self {
            Value::Atom { pos, .. } | Value::List { pos, .. } => *pos,
        }
    }
}

struct Arg<'a> {
    key: Option<(&'a str, usize)>,
    value: Value<'a>,
}

/// The parsed call: name, its position, arguments, position of `)` (or the
/// end of the input).
struct Call<'a> {
    name: &'a str,
    name_pos: usize,
    args: Vec<Arg<'a>>,
    close: usize,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

const DELIMITERS: &[u8] = b"()[],=";

impl<'a> Lexer<'a> {
    fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            input: self.input.into(),
            position: pos,
            message: message.into(),
        }
    }
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }
    fn peek(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// A run of characters up to whitespace or a delimiter.
    fn atom(&mut self) -> Option<(&'a str, usize)> {
        self.skip_ws();
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() || DELIMITERS.contains(&c) {
                break;
            }
            // Whole UTF-8 characters, so the slice below stays valid.
            self.pos += self.input[self.pos..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
        }
        (self.pos > start).then(|| (&self.input[start..self.pos], start))
    }
    fn found(&self) -> String {
        match self.input[self.pos..].chars().next() {
            Some(c) => format!("found `{c}`"),
            None => "found the end of the input".into(),
        }
    }
    fn value(&mut self) -> Result<Value<'a>> {
        self.skip_ws();
        let pos = self.pos;
        if self.eat(b'[') {
            let mut items = Vec::new();
            loop {
                if self.eat(b']') {
                    break;
                }
                let item = self.atom().ok_or_else(|| {
                    self.err(
                        self.pos,
                        format!("expected a number or `]`, {}", self.found()),
                    )
                })?;
                items.push(item);
                if !self.eat(b',') {
                    if self.eat(b']') {
                        break;
                    }
                    return Err(
                        self.err(self.pos, format!("expected `,` or `]`, {}", self.found()))
                    );
                }
            }
            return Ok(Value::List { items, pos });
        }
        let (text, pos) = self
            .atom()
            .ok_or_else(|| self.err(self.pos, format!("expected a value, {}", self.found())))?;
        Ok(Value::Atom { text, pos })
    }
    fn call(&mut self) -> Result<Call<'a>> {
        let (name, name_pos) = self.atom().ok_or_else(|| {
            self.err(
                self.pos,
                format!("expected a scheme name, {}", self.found()),
            )
        })?;
        if !is_ident(name) {
            return Err(self.err(name_pos, format!("`{name}` is not a scheme name")));
        }
        let mut args = Vec::new();
        let mut close = self.input.len();
        if self.eat(b'(') {
            loop {
                self.skip_ws();
                if self.peek() == Some(b')') {
                    close = self.pos;
                    self.pos += 1;
                    break;
                }
                let value = self.value()?;
                let arg = if self.eat(b'=') {
                    let key = match value {
                        Value::Atom { text, pos } if is_ident(text) => (text, pos),
                        v => return Err(self.err(v.pos(), "expected a parameter name before `=")),
                    };
                    Arg {
                        key: Some(key),
                        value: self.value()?,
                    }
                } else {
                    Arg { key: None, value }
                };
                args.push(arg);
                if !self.eat(b',') {
                    self.skip_ws();
                    if self.peek() == Some(b')') {
                        continue;
                    }
                    return Err(
                        self.err(self.pos, format!("expected `,` or `)`, {}", self.found()))
                    );
                }
            }
        }
        self.skip_ws();
        if self.pos < self.input.len() {
            return Err(self.err(
                self.pos,
                format!("unexpected text after the scheme, {}", self.found()),
            ));
        }
        Ok(Call {
            name,
            name_pos,
            args,
            close,
        })
    }
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A parameter's value as the canonical text form writes it.
pub(super) trait TextValue {
    /// The text.
    fn text(&self) -> String;
}

impl TextValue for f64 {
    fn text(&self) -> String {
        fmt_num(*self)
    }
}

impl TextValue for u64 {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl TextValue for [f64] {
    fn text(&self) -> String {
        let items: Vec<String> = self.iter().map(TextValue::text).collect();
        format!("[{}]", items.join(", "))
    }
}

macro_rules! text_by_name {
    ($($ty:ty),+) => {
        $(impl TextValue for $ty {
            fn text(&self) -> String {
                self.name().into()
            }
        })+
    };
}

text_by_name!(FanMode, Nonlinearity, ScalingDistribution, PriorActivation);

/// The arguments of one call, bound to the parameter names its text name
/// takes; the scheme table gives the defaults of the rest.
pub(super) struct Args<'a> {
    input: &'a str,
    form: Form,
    name_pos: usize,
    close: usize,
    params: Vec<&'static str>,
    slots: Vec<Option<Value<'a>>>,
}

/// A choice whose default the scheme table holds.
pub(super) trait Choice: FromStr<Err = Error> {
    /// The value of a default, when it is of this type.
    fn from_default(d: Dflt) -> Option<Self>;
}

impl Choice for FanMode {
    fn from_default(d: Dflt) -> Option<Self> {
        match d {
            Dflt::Mode(m) => Some(m),
            _ => None,
        }
    }
}

impl Choice for Nonlinearity {
    fn from_default(d: Dflt) -> Option<Self> {
        match d {
            Dflt::Nonlinearity(n) => Some(n),
            _ => None,
        }
    }
}

impl Choice for ScalingDistribution {
    fn from_default(d: Dflt) -> Option<Self> {
        match d {
            Dflt::Distribution(s) => Some(s),
            _ => None,
        }
    }
}

impl Choice for PriorActivation {
    fn from_default(d: Dflt) -> Option<Self> {
        match d {
            Dflt::Activation(a) => Some(a),
            _ => None,
        }
    }
}

impl<'a> Args<'a> {
    fn err(&self, pos: usize, message: impl Into<String>) -> Error {
        Error::Parse {
            input: self.input.into(),
            position: pos,
            message: message.into(),
        }
    }
    fn get(&self, name: &str) -> Option<&Value<'a>> {
        let i = self.params.iter().position(|p| *p == name)?;
        self.slots[i].as_ref()
    }
    /// Where a parameter's value is, or the scheme name when it is absent.
    fn pos_of(&self, name: &str) -> usize {
        self.get(name).map_or(self.name_pos, Value::pos)
    }
    fn atom(&self, name: &str) -> Result<Option<(&'a str, usize)>> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Atom { text, pos }) => Ok(Some((text, *pos))),
            Some(Value::List { pos, .. }) => {
                Err(self.err(*pos, format!("`{name}` takes a single value, not a list")))
            }
        }
    }
    fn missing(&self, name: &str) -> Error {
        self.err(
            self.close,
            format!(
                "`{}` needs the argument `{name}` (parameters: {})",
                self.form.name,
                self.params.join(", ")
            ),
        )
    }
    fn number(&self, name: &str, text: &str, pos: usize) -> Result<f64> {
        text.parse::<f64>()
            .map_err(|_| self.err(pos, format!("`{name}` must be a number, found `{text}`")))
    }
    /// The default of an argument not given; required ones are missing.
    fn default_num(&self, name: &str) -> Result<f64> {
        match self.form.default(name) {
            Dflt::Num(x) => Ok(x),
            _ => Err(self.missing(name)),
        }
    }
    /// A number, or its default.
    pub(super) fn f64(&self, name: &str) -> Result<f64> {
        match self.atom(name)? {
            Some((text, pos)) => self.number(name, text, pos),
            None => self.default_num(name),
        }
    }
    /// A number or a nonlinearity's name standing for its gain, or the
    /// default.
    pub(super) fn gain(&self, name: &str) -> Result<f64> {
        match self.atom(name)? {
            None => self.default_num(name),
            Some((text, pos)) => text.parse::<f64>().or_else(|_| {
                text.parse::<Nonlinearity>()
                    .map(Nonlinearity::gain)
                    .map_err(|_| {
                        self.err(
                            pos,
                            format!(
                                "`{name}` must be a number or a nonlinearity ({}), found `{text}`",
                                Nonlinearity::NAMES.join(", ")
                            ),
                        )
                    })
            }),
        }
    }
    /// A whole number, or its default.
    pub(super) fn u64(&self, name: &str) -> Result<u64> {
        let Some((text, pos)) = self.atom(name)? else {
            return match self.form.default(name) {
                Dflt::Whole(n) => Ok(n),
                _ => Err(self.missing(name)),
            };
        };
        text.parse::<u64>().map_err(|_| {
            self.err(
                pos,
                format!("`{name}` must be a whole number >= 0, found `{text}`"),
            )
        })
    }
    /// A choice by name, or its default.
    pub(super) fn choice<T: Choice>(&self, name: &str) -> Result<T> {
        match self.atom(name)? {
            None => T::from_default(self.form.default(name)).ok_or_else(|| self.missing(name)),
            Some((text, pos)) => text.parse::<T>().map_err(|e| match e {
                Error::Parse { message, .. } => self.err(pos, message),
                e => e,
            }),
        }
    }
    /// A list of numbers (a single number is a list of one); required.
    pub(super) fn list(&self, name: &str) -> Result<Vec<f64>> {
        match self.get(name) {
            None => Err(self.missing(name)),
            Some(Value::Atom { text, pos }) => Ok(vec![self.number(name, text, *pos)?]),
            Some(Value::List { items, .. }) => items
                .iter()
                .map(|(text, pos)| self.number(name, text, *pos))
                .collect(),
        }
    }
    /// A constructor's error, pointed at the argument it names.
    fn locate(&self, e: Error) -> Error {
        let (name, message) = match &e {
            Error::Parse { .. } => return e,
            Error::InvalidParameter { name, .. } | Error::InvalidChoice { name, .. } => {
                (*name, e.to_string())
            }
            _ => ("", e.to_string()),
        };
        self.err(self.pos_of(name), message)
    }
}

impl FromStr for Init {
    type Err = Error;

    /// Parses the text form: `name`, `name()` or `name(args)`, arguments
    /// positional (in the documented order) then keyword (`key=value`);
    /// values are numbers (`inf` allowed for truncation bounds), names
    /// (`fan_out`, `relu`) or lists (`[0.9, 0.1]`). Whitespace is free.
    ///
    /// Errors are [`Error::Parse`] with the byte position of the bad part:
    /// the unknown name (with the list of valid names), the bad value, the
    /// missing `)`, the out-of-domain argument.
    ///
    /// ```
    /// use weight_init::{scheme::Init, Error};
    /// let init: Init = "uniform(-0.1, 0.1)".parse().unwrap();
    /// assert_eq!(init.to_string(), "uniform(low=-0.1, high=0.1)");
    /// let Err(Error::Parse { position, .. }) = "kaiming_normal(mode=fan_up)".parse::<Init>() else {
    ///     panic!()
    /// };
    /// assert_eq!(position, 20);
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        let mut lexer = Lexer { input: s, pos: 0 };
        let call = lexer.call()?;
        let err = |pos, message: String| Error::Parse {
            input: s.into(),
            position: pos,
            message,
        };
        if let Some(a) = AMBIGUOUS.iter().find(|a| a.name == call.name) {
            return Err(err(
                call.name_pos,
                format!("`{}` is ambiguous: {}", call.name, a.why),
            ));
        }
        let Some(form) = Form::find(call.name) else {
            let names: Vec<&str> = Form::names().collect();
            return Err(err(
                call.name_pos,
                format!(
                    "unknown scheme `{}`; valid names: {}",
                    call.name,
                    names.join(", ")
                ),
            ));
        };
        let params = form.takes();
        let mut slots: Vec<Option<Value<'_>>> = vec![None; params.len()];
        let mut next = 0;
        let mut keyword_seen = false;
        for arg in call.args {
            let (index, pos) = match arg.key {
                None => {
                    if keyword_seen {
                        return Err(err(
                            arg.value.pos(),
                            "a positional argument cannot follow a keyword argument".into(),
                        ));
                    }
                    if next >= params.len() {
                        return Err(err(
                            arg.value.pos(),
                            format!(
                                "`{}` takes {} argument(s){}",
                                form.name,
                                params.len(),
                                if params.is_empty() {
                                    String::new()
                                } else {
                                    format!(" ({})", params.join(", "))
                                }
                            ),
                        ));
                    }
                    next += 1;
                    (next - 1, arg.value.pos())
                }
                Some((key, pos)) => {
                    keyword_seen = true;
                    let Some(index) = params.iter().position(|p| *p == key) else {
                        return Err(err(
                            pos,
                            format!(
                                "`{}` has no parameter `{key}`; parameters: {}",
                                form.name,
                                if params.is_empty() {
                                    "none".into()
                                } else {
                                    params.join(", ")
                                }
                            ),
                        ));
                    };
                    (index, pos)
                }
            };
            if slots[index].is_some() {
                return Err(err(pos, format!("`{}` is given twice", params[index])));
            }
            slots[index] = Some(arg.value);
        }
        let args = Args {
            input: s,
            form,
            name_pos: call.name_pos,
            close: call.close,
            params,
            slots,
        };
        (form.scheme.build)(&args).map_err(|e| args.locate(e))
    }
}
