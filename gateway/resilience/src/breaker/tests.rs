use std::time::{Duration, Instant};

use gateway_config::Breaker as Settings;

use super::{Admit, BREAKER_BUCKETS, Breaker, Health, State};

const WINDOW: Duration = Duration::from_secs(10);
const OPEN: Duration = Duration::from_secs(5);

fn settings(probe_successes: u32) -> Settings {
    Settings {
        window: WINDOW,
        min_requests: 4,
        failure_percent: 50,
        open: OPEN,
        probe_successes,
    }
}

/// `n` attempts admitted and recorded with `health` at `at`; the last state entered.
fn attempts(b: &mut Breaker, n: usize, health: Health, at: Instant) -> Option<State> {
    let mut entered = None;
    for _ in 0..n {
        let (admit, _) = b.admit(at);
        assert_eq!(admit, Admit::Pass);
        entered = b.record(admit, health, at).or(entered);
    }
    entered
}

#[test]
fn it_opens_only_at_the_failure_rate_with_enough_attempts() {
    let t0 = Instant::now();
    let mut b = Breaker::new(settings(1), t0);
    assert_eq!(
        attempts(&mut b, 3, Health::Down, t0),
        None,
        "below min_requests"
    );
    assert_eq!(b.state(t0), State::Closed);
    assert_eq!(attempts(&mut b, 1, Health::Down, t0), Some(State::Open));
    assert_eq!(b.state(t0), State::Open);
    assert_eq!(b.admit(t0 + OPEN / 2), (Admit::Bypass, None));

    // 3 failures in 7 attempts (43 %) stay closed; one more makes it 50 %.
    let mut b = Breaker::new(settings(1), t0);
    attempts(&mut b, 4, Health::Up, t0);
    assert_eq!(attempts(&mut b, 3, Health::Down, t0), None);
    assert_eq!(attempts(&mut b, 1, Health::Down, t0), Some(State::Open));
}

#[test]
fn failures_older_than_the_window_are_forgotten() {
    let t0 = Instant::now();
    let mut b = Breaker::new(settings(1), t0);
    attempts(&mut b, 3, Health::Down, t0);
    // A whole window later the three failures are gone: three more do not open it.
    let later = t0 + WINDOW + WINDOW / 10;
    assert_eq!(attempts(&mut b, 3, Health::Down, later), None);
    assert_eq!(b.state(later), State::Closed);
    // Within the window they add up: the fourth in 9 s opens it.
    let mut b = Breaker::new(settings(1), t0);
    attempts(&mut b, 2, Health::Down, t0);
    let step = WINDOW / u32::try_from(BREAKER_BUCKETS).unwrap();
    assert_eq!(attempts(&mut b, 1, Health::Down, t0 + step * 4), None);
    assert_eq!(
        attempts(&mut b, 1, Health::Down, t0 + step * 9),
        Some(State::Open)
    );
}

#[test]
fn after_the_open_interval_one_probe_passes_and_its_success_closes() {
    let t0 = Instant::now();
    let mut b = Breaker::new(settings(1), t0);
    attempts(&mut b, 4, Health::Down, t0);
    let t1 = t0 + OPEN;
    assert_eq!(b.state(t1), State::HalfOpen, "reads half-open once due");
    let (probe, entered) = b.admit(t1);
    assert_eq!((probe, entered), (Admit::Probe, Some(State::HalfOpen)));
    assert_eq!(b.admit(t1), (Admit::Bypass, None), "one probe at a time");
    assert_eq!(b.record(probe, Health::Up, t1), Some(State::Closed));
    assert_eq!(b.admit(t1), (Admit::Pass, None));
    // Closed with an empty window: the earlier failures do not count again.
    assert_eq!(attempts(&mut b, 3, Health::Down, t1), None);
}

#[test]
fn a_failed_probe_opens_it_again_for_a_whole_interval() {
    let t0 = Instant::now();
    let mut b = Breaker::new(settings(2), t0);
    attempts(&mut b, 4, Health::Down, t0);
    let t1 = t0 + OPEN;
    let (probe, _) = b.admit(t1);
    assert_eq!(
        b.record(probe, Health::Up, t1),
        None,
        "one of two successes"
    );
    let (probe, _) = b.admit(t1);
    assert_eq!(probe, Admit::Probe, "the slot was freed");
    assert_eq!(b.record(probe, Health::Down, t1), Some(State::Open));
    assert_eq!(b.admit(t1 + OPEN / 2), (Admit::Bypass, None));
    assert_eq!(b.state(t1 + OPEN), State::HalfOpen);
}

#[test]
fn a_released_probe_frees_its_slot_and_late_results_are_ignored() {
    let t0 = Instant::now();
    let mut b = Breaker::new(settings(1), t0);
    // An attempt admitted while closed answers after the breaker opened: ignored.
    let (late, _) = b.admit(t0);
    attempts(&mut b, 4, Health::Down, t0);
    assert_eq!(b.record(late, Health::Up, t0), None);
    assert_eq!(b.state(t0), State::Open);
    let t1 = t0 + OPEN;
    let (probe, _) = b.admit(t1);
    b.release(probe);
    assert_eq!(b.state(t1), State::HalfOpen, "no verdict, no change");
    let (probe, _) = b.admit(t1);
    assert_eq!(probe, Admit::Probe);
    assert_eq!(b.record(probe, Health::Up, t1), Some(State::Closed));
}

#[test]
fn labels_and_gauge_values_are_stable() {
    let all = [State::Closed, State::HalfOpen, State::Open];
    assert_eq!(all.map(State::as_label), ["closed", "half_open", "open"]);
    assert_eq!(all.map(State::gauge), [0, 1, 2]);
}
