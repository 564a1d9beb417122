//! Raw request bodies through everything the intake does with them: parse, validate, normalize
//! (both versions), then read the columns of every accepted statement. Nothing may panic or hang,
//! and whatever is accepted must read back.
#![no_main]

use learnstream_xapi::model::{Account, Actor};
use learnstream_xapi::{Authority, NormalizeContext, XapiVersion, extract_columns, normalize_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let authority = Authority::new(Actor {
        object_type: Some("Agent".into()),
        name: None,
        mbox: None,
        mbox_sha1sum: None,
        openid: None,
        account: Some(Account { home_page: "https://lrs.example.org".into(), name: "fuzz".into() }),
        member: None,
    });
    for version in [XapiVersion::V1_0, XapiVersion::V2_0] {
        let context = NormalizeContext {
            version,
            stored: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
            authority: &authority,
        };
        if let Ok(statements) = normalize_body(body, &context) {
            for statement in statements {
                let columns = extract_columns(&statement.json).expect("an accepted statement reads back");
                assert_eq!(columns.id, statement.id);
            }
        }
    }
});
