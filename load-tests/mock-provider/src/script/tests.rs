//! The scenario header's grammar.

use super::*;

#[test]
fn status_with_options() {
    assert_eq!(
        Scenario::parse_header("status=529; retry-after=2;should-retry=false"),
        Ok(Scenario::Answer(Answer::ProviderError {
            status: 529,
            retry_after: Some("2".to_owned()),
            should_retry: Some(false),
        }))
    );
}

#[test]
fn pause_defaults_to_no_deltas_before() {
    assert_eq!(
        Scenario::parse_header("pause-ms=1500"),
        Ok(Scenario::Interrupt(Interruption {
            after_deltas: 0,
            before_content: false,
            kind: InterruptKind::Pause(Duration::from_millis(1500)),
        }))
    );
}

#[test]
fn midstream_error_defaults_to_overloaded() {
    assert_eq!(
        Scenario::parse_header("midstream-error=2"),
        Ok(Scenario::Interrupt(Interruption {
            after_deltas: 2,
            before_content: false,
            kind: InterruptKind::Error {
                error_type: "overloaded_error".to_owned(),
                message: "Overloaded".to_owned(),
            },
        }))
    );
}

#[test]
fn garbage_is_refused() {
    for bad in [
        "",
        "status",
        "status=abc",
        "reset=1;x=2",
        "explode=1",
        "status=42",
    ] {
        assert!(Scenario::parse_header(bad).is_err(), "{bad}");
    }
}

#[test]
fn stream_faults_parse_with_their_defaults() {
    assert_eq!(Scenario::parse_header("cut=42"), Ok(Scenario::Cut(42)));
    let at = |after_deltas, kind| {
        Ok(Scenario::Interrupt(Interruption {
            after_deltas,
            before_content: false,
            kind,
        }))
    };
    assert_eq!(
        Scenario::parse_header("bad-crc=2"),
        at(2, InterruptKind::BadCrc)
    );
    assert_eq!(
        Scenario::parse_header("oversized-frame=1"),
        at(1, InterruptKind::Oversized(DEFAULT_OVERSIZED_FRAME_BYTES))
    );
    assert_eq!(
        Scenario::parse_header("oversized-frame=0;bytes=5000"),
        at(0, InterruptKind::Oversized(5000))
    );
    for bad in [
        "cut=x",
        "cut=1;a=2",
        "bad-crc=1;x=1",
        "oversized-frame=1;bytes=999999999999",
    ] {
        assert!(Scenario::parse_header(bad).is_err(), "{bad}");
    }
}
