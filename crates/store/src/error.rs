/// The one error type of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("clickhouse: {0}")]
    ClickHouse(#[from] clickhouse::error::Error),
    #[error(
        "migration {version} ({name}) was changed after it was applied; add a new migration instead"
    )]
    MigrationChanged { version: u32, name: String },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: u32,
        name: String,
        #[source]
        source: clickhouse::error::Error,
    },
}

impl Error {
    /// Whether trying the same request again can never succeed: ClickHouse refused the query or
    /// the data themselves (a syntax error, such as a query above `max_query_size`; a value it
    /// cannot parse or that does not fit its type), or the client could not encode the rows.
    /// Network errors, timeouts, a server that is starting or overloaded, and a missing table
    /// (a migration may be on its way) are worth retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            Error::ClickHouse(error) => is_permanent_clickhouse(error),
            Error::MigrationChanged { .. } | Error::Migration { .. } => true,
        }
    }
}

/// ClickHouse error codes (`src/Common/ErrorCodes.cpp`) that describe the request, not the
/// server's state.
const PERMANENT_CODES: [u32; 16] = [
    6,   // CANNOT_PARSE_TEXT
    26,  // CANNOT_PARSE_QUOTED_STRING
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    43,  // ILLEGAL_TYPE_OF_ARGUMENT
    53,  // TYPE_MISMATCH
    62,  // SYNTAX_ERROR (also "Max query size exceeded")
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    72,  // CANNOT_PARSE_NUMBER
    117, // INCORRECT_DATA
    131, // TOO_LARGE_STRING_SIZE
    167, // TOO_DEEP_AST
    168, // TOO_BIG_AST
    321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
];

fn is_permanent_clickhouse(error: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error as ClickHouseError;
    match error {
        ClickHouseError::BadResponse(text) => {
            server_error_code(text).is_some_and(|code| PERMANENT_CODES.contains(&code))
        }
        ClickHouseError::SequenceMustHaveLength
        | ClickHouseError::Custom(_)
        | ClickHouseError::InvalidParams(_) => true,
        _ => false,
    }
}

impl Error {
    /// Whether ClickHouse stopped the query at its `max_rows_to_read` (TOO_MANY_ROWS).
    pub(crate) fn is_row_limit(&self) -> bool {
        matches!(self, Error::ClickHouse(clickhouse::error::Error::BadResponse(text))
            if server_error_code(text) == Some(158))
    }
}

/// The code of a ClickHouse exception text: `Code: 62, e.displayText() = …` (18.16) or
/// `Code: 62. DB::Exception: …` (current releases).
fn server_error_code(text: &str) -> Option<u32> {
    let after = &text[text.find("Code: ")? + "Code: ".len()..];
    let digits = after
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(after.len());
    after[..digits].parse().ok()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_response(text: &str) -> Error {
        Error::ClickHouse(clickhouse::error::Error::BadResponse(text.to_owned()))
    }

    #[test]
    fn refusals_of_the_request_are_permanent_on_both_server_generations() {
        for text in [
            "Code: 62, e.displayText() = DB::Exception: Syntax error: failed at position 262120: Max query size exceeded, e.what() = DB::Exception",
            "Code: 62. DB::Exception: Max query size exceeded: failed at position 262145. (SYNTAX_ERROR) (version 26.9.1.1)",
            "Code: 117. DB::Exception: Incorrect data. (INCORRECT_DATA)",
            "Code: 53, e.displayText() = DB::Exception: Type mismatch",
        ] {
            assert!(bad_response(text).is_permanent(), "{text}");
        }
    }

    #[test]
    fn the_servers_state_is_worth_retrying() {
        for text in [
            "Code: 202, e.displayText() = DB::Exception: Too many simultaneous queries. Maximum: 100",
            "Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)",
            "Code: 60. DB::Exception: Table learnstream.statement_voids does not exist. (UNKNOWN_TABLE)",
            "Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)",
            "no code at all",
        ] {
            assert!(!bad_response(text).is_permanent(), "{text}");
        }
        assert!(!Error::ClickHouse(clickhouse::error::Error::TimedOut).is_permanent());
    }
}
