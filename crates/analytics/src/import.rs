//! CSV imports: the alignment table (activity -> competency) and a OneRoster 1.1 roster
//! (`users.csv`, `classes.csv`, `enrollments.csv`). A file with an error is refused whole, with
//! the line and the column named; nothing of it is stored.

use std::collections::{HashMap, HashSet};

use crate::evidence::Alignment;
use learnstream_store::{RosterClass, RosterEnrollment, RosterUser};

/// A CSV file that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ImportError {
    pub file: &'static str,
    pub message: String,
}

/// A CSV file read with its header: fields by column name.
struct Table {
    file: &'static str,
    columns: HashMap<String, usize>,
    records: Vec<(u64, csv::StringRecord)>,
}

/// A CSV file's bytes as text, or an error naming the line of the first byte that is not UTF-8.
pub fn utf8_text<'a>(file: &'static str, bytes: &'a [u8]) -> Result<&'a str, ImportError> {
    std::str::from_utf8(bytes).map_err(|problem| {
        let valid = &bytes[..problem.valid_up_to()];
        let line = 1 + valid.iter().filter(|byte| **byte == b'\n').count();
        let column = 1 + valid
            .iter()
            .rev()
            .take_while(|byte| **byte != b'\n')
            .count();
        ImportError {
            file,
            message: format!(
                "line {line}: byte {column} is not UTF-8; CSV files are read as UTF-8"
            ),
        }
    })
}

/// The line on which a quoted field opens that never closes, if one does. The csv crate reads
/// such a field to the end of the file without complaint, so that the rest of the file would
/// become one value. A quote opens a field only at the field's start, as in RFC 4180 and in
/// the csv crate; inside a quoted field `""` is a quote.
fn unclosed_quote(text: &str) -> Option<u64> {
    let mut line = 1;
    let mut opened_on = None;
    let mut at_field_start = true;
    let mut bytes = text.bytes().peekable();
    while let Some(byte) = bytes.next() {
        if opened_on.is_some() {
            match byte {
                b'"' if bytes.peek() == Some(&b'"') => {
                    bytes.next();
                }
                b'"' => opened_on = None,
                b'\n' => line += 1,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' if at_field_start => opened_on = Some(line),
            b',' => {
                at_field_start = true;
                continue;
            }
            b'\n' => {
                line += 1;
                at_field_start = true;
                continue;
            }
            _ => {}
        }
        at_field_start = false;
    }
    opened_on
}

impl Table {
    fn read(file: &'static str, text: &str, required: &[&str]) -> Result<Table, ImportError> {
        let error = |message: String| ImportError { file, message };
        if let Some(line) = unclosed_quote(text) {
            return Err(error(format!(
                "line {line}: a quoted field opens here and never closes"
            )));
        }
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers = reader
            .headers()
            .map_err(|problem| error(format!("the header line: {problem}")))?
            .clone();
        let columns: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(index, name)| (name.to_owned(), index))
            .collect();
        for column in required {
            if !columns.contains_key(*column) {
                return Err(error(format!(
                    "the header line: column {column:?} is required"
                )));
            }
        }
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|problem| {
                let line = problem.position().map_or(0, csv::Position::line);
                error(format!("line {line}: {problem}"))
            })?;
            let line = record.position().map_or(0, csv::Position::line);
            records.push((line, record));
        }
        Ok(Table {
            file,
            columns,
            records,
        })
    }

    fn field<'r>(&self, record: &'r csv::StringRecord, column: &str) -> &'r str {
        self.columns
            .get(column)
            .and_then(|index| record.get(*index))
            .unwrap_or("")
    }

    fn required<'r>(
        &self,
        line: u64,
        record: &'r csv::StringRecord,
        column: &str,
    ) -> Result<&'r str, ImportError> {
        let value = self.field(record, column);
        if value.is_empty() {
            return Err(self.error(line, column, "must not be empty"));
        }
        Ok(value)
    }

    fn error(&self, line: u64, column: &str, rule: &str) -> ImportError {
        ImportError {
            file: self.file,
            message: format!("line {line}: {column}: {rule}"),
        }
    }

    /// OneRoster marks rows to delete in a bulk file with `status = tobedeleted`.
    fn deleted(&self, record: &csv::StringRecord) -> bool {
        self.field(record, "status")
            .eq_ignore_ascii_case("tobedeleted")
    }
}

/// Reads an alignment CSV: `activity_id,competency_id[,framework][,weight]`. The weight
/// defaults to 1 and must be above 0.
pub fn alignments(text: &str) -> Result<Vec<Alignment>, ImportError> {
    let table = Table::read("alignments.csv", text, &["activity_id", "competency_id"])?;
    let mut seen = HashSet::new();
    let mut alignments = Vec::with_capacity(table.records.len());
    for (line, record) in &table.records {
        let activity_id = table.required(*line, record, "activity_id")?;
        if !activity_id.contains(':') {
            return Err(table.error(*line, "activity_id", "must be an activity IRI"));
        }
        let competency_id = table.required(*line, record, "competency_id")?;
        let weight = match table.field(record, "weight") {
            "" => 1.0,
            text => text
                .parse::<f64>()
                .ok()
                .filter(|weight| weight.is_finite() && *weight > 0.0)
                .ok_or_else(|| table.error(*line, "weight", "must be a number above 0"))?,
        };
        if !seen.insert((activity_id, competency_id)) {
            return Err(table.error(
                *line,
                "competency_id",
                "this activity is aligned to this competency on an earlier line",
            ));
        }
        alignments.push(Alignment {
            activity_id: activity_id.to_owned(),
            competency_id: competency_id.to_owned(),
            framework: table.field(record, "framework").to_owned(),
            weight,
        });
    }
    Ok(alignments)
}

/// Reads a OneRoster `users.csv`. A user's xAPI actor is `mbox:mailto:<email>`, or without an
/// email `account:<account_home_page>|<username>`.
pub fn users(text: &str, account_home_page: &str) -> Result<Vec<RosterUser>, ImportError> {
    let table = Table::read("users.csv", text, &["sourcedId", "role"])?;
    let mut users = Vec::with_capacity(table.records.len());
    let mut seen = HashSet::new();
    for (line, record) in &table.records {
        if table.deleted(record) {
            continue;
        }
        let user_id = table.required(*line, record, "sourcedId")?;
        if !seen.insert(user_id) {
            return Err(table.error(*line, "sourcedId", "is listed on an earlier line"));
        }
        let email = table.field(record, "email");
        let username = table.field(record, "username");
        let actor_ifi = if !email.is_empty() {
            if !email.contains('@') {
                return Err(table.error(*line, "email", "must be an email address"));
            }
            format!("mbox:mailto:{email}")
        } else if !username.is_empty() && !account_home_page.is_empty() {
            format!("account:{account_home_page}|{username}")
        } else {
            return Err(table.error(
                *line,
                "email",
                "is needed to know the user's xAPI actor (or a username, with analytics.roster_account_home_page set)",
            ));
        };
        users.push(RosterUser {
            user_id: user_id.to_owned(),
            actor_ifi,
            given_name: table.field(record, "givenName").to_owned(),
            family_name: table.field(record, "familyName").to_owned(),
            role: table.required(*line, record, "role")?.to_owned(),
        });
    }
    Ok(users)
}

/// Reads a OneRoster `classes.csv`.
pub fn classes(text: &str) -> Result<Vec<RosterClass>, ImportError> {
    let table = Table::read("classes.csv", text, &["sourcedId", "title"])?;
    let mut classes = Vec::with_capacity(table.records.len());
    let mut seen = HashSet::new();
    for (line, record) in &table.records {
        if table.deleted(record) {
            continue;
        }
        let class_id = table.required(*line, record, "sourcedId")?;
        if !seen.insert(class_id) {
            return Err(table.error(*line, "sourcedId", "is listed on an earlier line"));
        }
        classes.push(RosterClass {
            class_id: class_id.to_owned(),
            title: table.field(record, "title").to_owned(),
        });
    }
    Ok(classes)
}

/// Reads a OneRoster `enrollments.csv`.
pub fn enrollments(text: &str) -> Result<Vec<RosterEnrollment>, ImportError> {
    let table = Table::read(
        "enrollments.csv",
        text,
        &["classSourcedId", "userSourcedId", "role"],
    )?;
    let mut enrollments = Vec::with_capacity(table.records.len());
    let mut seen = HashSet::new();
    for (line, record) in &table.records {
        if table.deleted(record) {
            continue;
        }
        let class_id = table.required(*line, record, "classSourcedId")?;
        let user_id = table.required(*line, record, "userSourcedId")?;
        if !seen.insert((class_id, user_id)) {
            return Err(table.error(
                *line,
                "userSourcedId",
                "is enrolled in this class on an earlier line",
            ));
        }
        enrollments.push(RosterEnrollment {
            class_id: class_id.to_owned(),
            user_id: user_id.to_owned(),
            role: table.required(*line, record, "role")?.to_owned(),
        });
    }
    Ok(enrollments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_csv_is_refused_with_its_line() {
        let unclosed =
            classes("sourcedId,title\nc1,\"Grade 4\"\nc2,Grade 5\nc3,\"Grade 6\nc4,Grade 7\n")
                .unwrap_err();
        assert_eq!(
            unclosed.to_string(),
            "classes.csv: line 4: a quoted field opens here and never closes"
        );
        let quoted = classes("sourcedId,title\nc1,\"Grade \"\"4\"\"\nline two\"\nc2,x\n").unwrap();
        assert_eq!(
            quoted.len(),
            2,
            "a closed quoted field may hold quotes and newlines"
        );
        let literal = classes("sourcedId,title\nc1,5\" tall\nc2,x\n").unwrap();
        assert_eq!(
            literal.len(),
            2,
            "a quote inside an unquoted field is a character"
        );
        let ragged = classes("sourcedId,title\nc1,Grade 4\nc2,Grade 5,extra\n").unwrap_err();
        assert!(
            ragged.to_string().starts_with("classes.csv: line 3: "),
            "{ragged}"
        );
        let latin1 = utf8_text("classes.csv", b"sourcedId,title\nc1,Gr\xe9de\n").unwrap_err();
        assert_eq!(
            latin1.to_string(),
            "classes.csv: line 2: byte 6 is not UTF-8; CSV files are read as UTF-8"
        );
    }

    #[test]
    fn alignments_read_with_defaults_and_name_the_bad_field() {
        let read = alignments(
            "activity_id,competency_id,framework,weight\n\
             https://example.org/quiz/1,case:frac,math,2\n\
             https://example.org/quiz/2,case:dec,,\n",
        )
        .unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].weight, 2.0);
        assert_eq!(read[1].framework, "");
        assert_eq!(read[1].weight, 1.0);

        let bad_weight =
            alignments("activity_id,competency_id,weight\nhttps://example.org/q,case:a,heavy\n")
                .unwrap_err();
        assert_eq!(
            bad_weight.to_string(),
            "alignments.csv: line 2: weight: must be a number above 0"
        );
        let no_column = alignments("activity,competency_id\n").unwrap_err();
        assert_eq!(
            no_column.to_string(),
            "alignments.csv: the header line: column \"activity_id\" is required"
        );
        let twice = alignments("activity_id,competency_id\nhttps://e.org/q,c\nhttps://e.org/q,c\n")
            .unwrap_err();
        assert!(
            twice.message.starts_with("line 3: competency_id"),
            "{twice}"
        );
    }

    #[test]
    fn oneroster_users_become_xapi_actors() {
        let text = "sourcedId,status,role,username,givenName,familyName,email\n\
                    u1,active,student,ann,Ann,Lee,ann@example.org\n\
                    u2,,student,bo,Bo,Diaz,\n\
                    u3,tobedeleted,student,cy,Cy,Ng,cy@example.org\n";
        let read = users(text, "https://sis.example.org").unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].actor_ifi, "mbox:mailto:ann@example.org");
        assert_eq!(read[1].actor_ifi, "account:https://sis.example.org|bo");
        let no_home = users(text, "").unwrap_err();
        assert!(
            no_home.message.starts_with("line 3: email: is needed"),
            "{no_home}"
        );
    }

    #[test]
    fn classes_and_enrollments() {
        let read = classes("sourcedId,title\nc1,Math 7\n").unwrap();
        assert_eq!(read[0].title, "Math 7");
        let read = enrollments(
            "sourcedId,classSourcedId,userSourcedId,role\ne1,c1,u1,student\ne2,c1,t1,teacher\n",
        )
        .unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].role, "teacher");
        let missing = enrollments("sourcedId,classSourcedId,userSourcedId,role\ne1,,u1,student\n")
            .unwrap_err();
        assert_eq!(
            missing.to_string(),
            "enrollments.csv: line 2: classSourcedId: must not be empty"
        );
    }
}
