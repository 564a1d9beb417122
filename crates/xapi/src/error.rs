use std::fmt;

/// The one error type of this crate: a statement broke a rule of the specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request body is not JSON at all.
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// A field of a statement breaks a rule. `path` is the JSON path of the field.
    #[error("{path}: {rule}")]
    Invalid { path: JsonPath, rule: String },
    /// The `X-Experience-API-Version` header is missing or names a version we do not serve.
    #[error("X-Experience-API-Version: {0}")]
    Version(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(path: &Path<'_>, rule: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.render(),
            rule: rule.into(),
        }
    }
}

/// Where a walk through a statement is: a chain of borrowed segments that costs nothing to build
/// and is rendered into a [`JsonPath`] only when a rule is broken.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> Path<'b> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    pub(crate) fn render(&self) -> JsonPath {
        let mut json_path = JsonPath::root();
        self.render_into(&mut json_path);
        json_path
    }

    fn render_into(&self, json_path: &mut JsonPath) {
        match self {
            Path::Root => {}
            Path::Key(parent, key) => {
                parent.render_into(json_path);
                json_path.push_key(key);
            }
            Path::Index(parent, index) => {
                parent.render_into(json_path);
                json_path.push_index(*index);
            }
        }
    }
}

/// A JSON path such as `[1].actor.mbox`, as an error reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonPath(String);

impl JsonPath {
    pub(crate) fn root() -> Self {
        JsonPath(String::new())
    }

    pub(crate) fn push_index(&mut self, index: usize) {
        use fmt::Write as _;
        write!(self.0, "[{index}]").expect("writing to a String cannot fail");
    }

    pub(crate) fn push_key(&mut self, key: &str) {
        if !self.0.is_empty() {
            self.0.push('.');
        }
        self.0.push_str(key);
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            formatter.write_str("statement")
        } else {
            formatter.write_str(&self.0)
        }
    }
}
