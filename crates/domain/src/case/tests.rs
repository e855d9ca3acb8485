//! Every path of the case state machine, the illegal steps in every state, and the deadline
//! arithmetic the steps set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::calendar::{cst, date};

/// The official 2025–2026 arrangements (Spring Festival 2026-02-15…23 with make-up Saturdays
/// 02-14 and 02-28; National Day 10-01…07 with make-up days 09-20 and 10-10).
fn cal() -> WorkCalendar {
    WorkCalendar::from_days(crate::calendar::official_days())
}

fn at(m: u8, d: u8, hh: u8, mm: u8) -> Ts {
    cst(2026, m, d, hh, mm).unwrap()
}

fn unit(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const DEPT: u128 = 10;
const STREET: u128 = 20;
const DISTRICT: u128 = 30;

fn five_days() -> Limits {
    Limits::default_for(RequestType::Complaint, Urgency::Normal)
}

fn to_dept() -> Assignment {
    Assignment {
        unit: unit(DEPT),
        street_district: None,
        co_handlers: vec![unit(11), unit(12)],
        limits: five_days(),
    }
}

fn to_street() -> Assignment {
    Assignment {
        unit: unit(STREET),
        street_district: Some(unit(DISTRICT)),
        co_handlers: vec![],
        limits: five_days(),
    }
}

fn note(s: &str) -> String {
    s.to_string()
}

/// Applies the commands in order, each at its own time, panicking on a refusal.
fn walk(start: Lifecycle, steps: &[(Ts, Command)]) -> Lifecycle {
    let c = cal();
    let mut l = start;
    for (t, cmd) in steps {
        l = match l.apply(cmd, *t, &c) {
            Ok((next, _)) => next,
            Err(r) => panic!("{:?} refused in {:?}: {r:?}", cmd.action(), l.state),
        };
    }
    l
}

fn fresh() -> Lifecycle {
    Lifecycle::received(RequestType::Complaint, Urgency::Normal, false)
}

fn t0() -> Ts {
    at(2, 12, 15, 0)
}

/// A case in each distinct situation the rules tell apart, reached by real steps.
fn fixtures() -> Vec<(&'static str, Lifecycle)> {
    let c0 = t0();
    let reg = walk(fresh(), &[(c0, Command::Register { urgency: None })]);
    let consulting = walk(
        reg.clone(),
        &[(
            c0,
            Command::Consult {
                note: note("跨部门"),
            },
        )],
    );
    let dispatched = walk(reg.clone(), &[(c0, Command::Dispatch(to_dept()))]);
    let objected = walk(
        dispatched.clone(),
        &[(
            c0,
            Command::Object {
                ground: ObjectionGround::Duty,
                reason: note("非本部门职责"),
            },
        )],
    );
    let handling = walk(dispatched.clone(), &[(c0, Command::Sign)]);
    let contacted = walk(
        handling.clone(),
        &[(
            c0,
            Command::Contact {
                note: note("已电话联系"),
            },
        )],
    );
    let paused = walk(
        contacted.clone(),
        &[(
            c0,
            Command::Pause {
                reason: note("等待诉求人提供材料"),
            },
        )],
    );
    let extension = walk(
        contacted.clone(),
        &[(
            c0,
            Command::Extend {
                days: 3,
                reason: note("需协调施工"),
            },
        )],
    );
    let replied = walk(
        contacted.clone(),
        &[(
            c0,
            Command::Reply {
                result: note("已修复"),
            },
        )],
    );
    let closed = walk(
        replied.clone(),
        &[(
            c0,
            Command::Verify {
                passed: true,
                note: String::new(),
            },
        )],
    );
    let visited_ok = walk(
        closed.clone(),
        &[(
            c0,
            Command::Visit {
                resolved: true,
                satisfaction: Satisfaction::Satisfied,
                note: String::new(),
            },
        )],
    );
    let visited_bad = walk(
        closed.clone(),
        &[(
            c0,
            Command::Visit {
                resolved: true,
                satisfaction: Satisfaction::Dissatisfied,
                note: note("态度差"),
            },
        )],
    );
    let disposed = walk(
        fresh(),
        &[(
            c0,
            Command::Dispose {
                disposition: Disposition::Answered,
                duplicate_of: None,
                note: note("已按知识库答复"),
            },
        )],
    );
    vec![
        ("pending", fresh()),
        ("registered", reg),
        ("consulting", consulting),
        ("dispatched", dispatched),
        ("objected", objected),
        ("handling", handling),
        ("contacted", contacted),
        ("paused", paused),
        ("extension", extension),
        ("replied", replied),
        ("closed", closed),
        ("visited_ok", visited_ok),
        ("visited_bad", visited_bad),
        ("disposed", disposed),
    ]
}

/// One well-formed command per action.
fn sample(a: Action) -> Command {
    match a {
        Action::Register => Command::Register { urgency: None },
        Action::Dispose => Command::Dispose {
            disposition: Disposition::OutsideDuty,
            duplicate_of: None,
            note: note("不属于政府职责"),
        },
        Action::Consult => Command::Consult {
            note: note("会商")
        },
        Action::ConsultDone => Command::ConsultDone {
            note: note("由城管执法局主办"),
        },
        Action::Dispatch => Command::Dispatch(to_dept()),
        Action::Sign => Command::Sign,
        Action::Object => Command::Object {
            ground: ObjectionGround::Jurisdiction,
            reason: note("不在本辖区"),
        },
        Action::Review => Command::Review {
            accept: false,
            redispatch: None,
            note: note("职责明确，维持派单"),
        },
        Action::Contact => Command::Contact {
            note: note("已联系"),
        },
        Action::Pause => Command::Pause {
            reason: note("等待补充材料"),
        },
        Action::Resume => Command::Resume,
        Action::Extend => Command::Extend {
            days: 2,
            reason: note("需要采购材料"),
        },
        Action::DecideExtension => Command::DecideExtension {
            approve: true,
            note: String::new(),
        },
        Action::Reply => Command::Reply {
            result: note("已办结"),
        },
        Action::Verify => Command::Verify {
            passed: true,
            note: String::new(),
        },
        Action::Visit => Command::Visit {
            resolved: false,
            satisfaction: Satisfaction::Basic,
            note: String::new(),
        },
        Action::Reopen => Command::Reopen {
            reason: note("问题仍未解决"),
        },
        Action::Supervise => Command::Supervise {
            note: note("请加快办理"),
        },
        Action::Note => Command::Note {
            text: note("备注")
        },
        Action::Warn => Command::Warn,
        Action::Overdue => Command::Overdue,
    }
}

/// The table the rules must follow, written out by hand (not derived from `admissible`).
fn expected(fixture: &str) -> &'static [Action] {
    use Action::*;
    match fixture {
        "pending" => &[Register, Dispose, Supervise, Note],
        "registered" => &[Dispatch, Consult, Dispose, Supervise, Note],
        "consulting" => &[ConsultDone, Supervise, Note],
        "dispatched" => &[Sign, Object, Supervise, Note],
        "objected" => &[Review, Supervise, Note],
        "handling" => &[Object, Contact, Pause, Extend, Supervise, Note],
        "contacted" => &[Object, Pause, Extend, Reply, Supervise, Note],
        "paused" => &[Object, Resume, Supervise, Note],
        "extension" => &[Object, DecideExtension, Pause, Reply, Supervise, Note],
        "replied" => &[Verify, Supervise, Note],
        "closed" => &[Visit, Note],
        "visited_ok" => &[Note],
        "visited_bad" => &[Reopen, Note],
        "disposed" => &[Note],
        _ => &[],
    }
}

#[test]
fn every_action_in_every_state_is_accepted_or_refused_as_the_table_says() {
    let c = cal();
    // Early: no alarm is due, so the sweeper's two steps are refused everywhere.
    let now = t0();
    for (name, l) in fixtures() {
        for &a in Action::ALL {
            let allowed = expected(name).contains(&a);
            let got = l.apply(&sample(a), now, &c);
            assert_eq!(
                got.is_ok(),
                allowed,
                "{name}: {a:?} should be {}: {got:?}",
                if allowed { "accepted" } else { "refused" }
            );
            if let Ok((next, change)) = got {
                assert_eq!(change.action, a);
                assert_eq!(change.from, l.state);
                assert_eq!(change.to, next.state);
            } else if let Err(r) = got {
                assert!(!r.key.is_empty() && !r.message.is_empty());
            }
        }
        let mut adm = l.admissible();
        adm.sort();
        let mut exp = expected(name).to_vec();
        exp.sort();
        assert_eq!(
            adm, exp,
            "{name}: admissible() lists exactly the accepted steps"
        );
    }
}

#[test]
fn refusals_name_the_reason() {
    let c = cal();
    let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
    let key = |f: &str, a: Action| fx[f].apply(&sample(a), t0(), &c).unwrap_err().key;
    assert_eq!(key("pending", Action::Dispatch), "invalid_state");
    assert_eq!(key("handling", Action::Reply), "contact_first");
    assert_eq!(key("contacted", Action::Contact), "already_contacted");
    assert_eq!(key("paused", Action::Reply), "paused");
    assert_eq!(key("paused", Action::Pause), "paused");
    assert_eq!(key("contacted", Action::Resume), "not_paused");
    assert_eq!(key("extension", Action::Extend), "extension_pending");
    assert_eq!(key("contacted", Action::DecideExtension), "no_extension");
    assert_eq!(key("visited_ok", Action::Reopen), "not_reopenable");
    assert_eq!(key("closed", Action::Warn), "no_alarm_due");
    let msg = fx["closed"]
        .apply(&sample(Action::Sign), t0(), &c)
        .unwrap_err()
        .message;
    assert_eq!(msg, "工单当前状态为「待回访」，不能签收");
}

#[test]
fn bad_payloads_are_refused() {
    let c = cal();
    let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
    let refused = |f: &str, cmd: Command| fx[f].apply(&cmd, t0(), &c).unwrap_err().key;
    assert_eq!(
        refused(
            "pending",
            Command::Dispose {
                disposition: Disposition::Duplicate,
                duplicate_of: None,
                note: note("重复")
            }
        ),
        "duplicate_of_required"
    );
    assert_eq!(
        refused(
            "pending",
            Command::Dispose {
                disposition: Disposition::Unlawful,
                duplicate_of: Some(unit(1)),
                note: note("x")
            }
        ),
        "duplicate_of_unexpected"
    );
    assert_eq!(
        refused(
            "pending",
            Command::Dispose {
                disposition: Disposition::Unlawful,
                duplicate_of: None,
                note: note("  ")
            }
        ),
        "note_required"
    );
    let mut a = to_dept();
    a.co_handlers.push(unit(DEPT));
    assert_eq!(
        refused("registered", Command::Dispatch(a)),
        "bad_co_handlers"
    );
    let mut a = to_dept();
    a.co_handlers = vec![unit(11), unit(11)];
    assert_eq!(
        refused("registered", Command::Dispatch(a)),
        "bad_co_handlers"
    );
    let mut a = to_dept();
    a.co_handlers = (100..111).map(unit).collect();
    assert_eq!(
        refused("registered", Command::Dispatch(a)),
        "bad_co_handlers"
    );
    for days in [0, 16] {
        assert_eq!(
            refused(
                "contacted",
                Command::Extend {
                    days,
                    reason: note("x")
                }
            ),
            "bad_extension_days"
        );
    }
    assert_eq!(
        refused(
            "contacted",
            Command::Reply {
                result: "长".repeat(MAX_NOTE_CHARS + 1)
            }
        ),
        "note_too_long"
    );
    assert_eq!(
        refused(
            "replied",
            Command::Verify {
                passed: false,
                note: String::new()
            }
        ),
        "note_required"
    );
    assert_eq!(
        refused(
            "objected",
            Command::Review {
                accept: false,
                redispatch: Some(to_street()),
                note: note("x")
            }
        ),
        "redispatch_unexpected"
    );
    assert_eq!(
        refused(
            "objected",
            Command::Review {
                accept: true,
                redispatch: Some(to_dept()),
                note: note("x")
            }
        ),
        "redispatch_same_unit"
    );
}

#[test]
fn full_life_cycle_across_spring_festival() {
    let c = cal();
    // Thursday 2026-02-12 15:00, a complaint: 5 working days → Fri 13, Sat 14 (make-up),
    // Tue 24, Wed 25, Thu 26 → due 2026-02-27 00:00.
    let l = walk(fresh(), &[(t0(), Command::Register { urgency: None })]);
    let (l, ch) = l.apply(&Command::Dispatch(to_street()), t0(), &c).unwrap();
    assert_eq!(l.state, CaseState::Dispatched);
    assert_eq!(l.due_at, Some(at(2, 27, 0, 0)));
    assert_eq!(l.sign_due, Some(at(2, 12, 17, 0)));
    assert_eq!(l.contact_due, Some(at(2, 13, 15, 0)));
    assert_eq!(l.copy_to, Some(unit(DISTRICT)));
    assert_eq!(
        ch.notices,
        vec![
            (NoticeKind::Assigned, Recipient::Unit(unit(STREET))),
            (NoticeKind::Copied, Recipient::Unit(unit(DISTRICT))),
        ]
    );
    // 80% of the span: the span is 14 d 9 h = 345 h; 276 h after dispatch is 02-24 03:00.
    assert_eq!(l.warn_at, Some(at(2, 24, 3, 0)));
    assert_eq!(l.light(at(2, 20, 0, 0)), Light::Green);
    assert_eq!(l.light(at(2, 24, 3, 0)), Light::Yellow);
    assert_eq!(l.light(at(2, 27, 0, 0)), Light::Red);

    let l = walk(
        l,
        &[
            (at(2, 12, 16, 0), Command::Sign),
            (
                at(2, 12, 16, 30),
                Command::Contact {
                    note: note("电话联系，约定上门"),
                },
            ),
            (
                at(2, 13, 10, 0),
                Command::Reply {
                    result: note("已清理"),
                },
            ),
        ],
    );
    assert_eq!(l.state, CaseState::Replied);
    // Verification fails: rework; the second reply passes, on time.
    let l = walk(
        l,
        &[
            (
                at(2, 13, 14, 0),
                Command::Verify {
                    passed: false,
                    note: note("现场仍有垃圾"),
                },
            ),
            (
                at(2, 24, 9, 0),
                Command::Reply {
                    result: note("已彻底清理"),
                },
            ),
            (
                at(2, 24, 11, 0),
                Command::Verify {
                    passed: true,
                    note: String::new(),
                },
            ),
        ],
    );
    assert_eq!(l.state, CaseState::Closed);
    assert_eq!(l.counts.reworks, 1);
    assert_eq!(l.closed_on_time, Some(true));
    assert_eq!(l.light(at(3, 1, 0, 0)), Light::Stopped);
    assert_eq!(l.next_alarm(), None);
    // Return visit: unresolved → reopen → back to 待派遣 with every clock cleared.
    let l = walk(
        l,
        &[
            (
                at(2, 25, 9, 0),
                Command::Visit {
                    resolved: false,
                    satisfaction: Satisfaction::Basic,
                    note: String::new(),
                },
            ),
            (
                at(2, 25, 9, 5),
                Command::Reopen {
                    reason: note("诉求人反映复发"),
                },
            ),
        ],
    );
    assert_eq!(l.state, CaseState::Registered);
    assert_eq!(l.counts.reopens, 1);
    assert_eq!((l.due_at, l.closed_at, l.resolved), (None, None, None));
    // Re-dispatched after the holiday, replied late: closed, not on time.
    let l = walk(
        l,
        &[
            (at(2, 25, 10, 0), Command::Dispatch(to_dept())),
            (at(2, 25, 11, 0), Command::Sign),
            (
                at(2, 25, 11, 5),
                Command::Contact {
                    note: note("已联系"),
                },
            ),
            (
                at(3, 5, 9, 0),
                Command::Reply {
                    result: note("已处理"),
                },
            ),
            (
                at(3, 5, 10, 0),
                Command::Verify {
                    passed: true,
                    note: String::new(),
                },
            ),
        ],
    );
    // Thu 26, Fri 27, Sat 28 (make-up), Mon 03-02, Tue 03-03.
    assert_eq!(l.due_at, Some(at(3, 4, 0, 0)));
    assert_eq!(l.closed_on_time, Some(false));
    assert_eq!(l.copy_to, None, "a department dispatch is not copied");
}

#[test]
fn national_day_and_make_up_days_set_the_deadline() {
    // Wednesday 09-30 + 1 working day (a consultation): the holiday block is skipped and
    // the deadline is the end of Thursday 10-08.
    let l = Lifecycle::received(RequestType::Consult, Urgency::Normal, false);
    let mut a = to_dept();
    a.limits = Limits::default_for(RequestType::Consult, Urgency::Normal);
    let l = walk(
        l,
        &[
            (at(9, 30, 9, 0), Command::Register { urgency: None }),
            (at(9, 30, 9, 0), Command::Dispatch(a.clone())),
        ],
    );
    assert_eq!(l.due_at, Some(at(10, 9, 0, 0)));
    // Friday 10-09 + 1 → the make-up Saturday 10-10.
    let l = Lifecycle::received(RequestType::Suggestion, Urgency::Normal, false);
    let l = walk(
        l,
        &[
            (at(10, 9, 17, 0), Command::Register { urgency: None }),
            (at(10, 9, 17, 0), Command::Dispatch(a)),
        ],
    );
    assert_eq!(l.due_at, Some(at(10, 11, 0, 0)));
}

#[test]
fn urgent_cases_run_on_natural_hours() {
    let l = Lifecycle::received(RequestType::Help, Urgency::Normal, false);
    let mut a = to_dept();
    a.limits = Limits::default_for(RequestType::Help, Urgency::Critical);
    let l = walk(
        l,
        &[
            (
                at(2, 16, 22, 0),
                Command::Register {
                    urgency: Some(Urgency::Critical),
                },
            ),
            (at(2, 16, 22, 0), Command::Dispatch(a)),
        ],
    );
    assert_eq!(l.urgency, Urgency::Critical);
    assert_eq!(l.due_at, Some(at(2, 17, 0, 0)), "2 h, holiday or not");
    assert_eq!(l.warn_at, Some(at(2, 16, 23, 36)));
}

#[test]
fn objections_are_upheld_or_accepted() {
    let c = cal();
    let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
    let objected = fx["objected"].clone();
    assert_eq!(objected.counts.objections, 1);
    // Upheld: the same unit must sign; the clock kept running.
    let (l, ch) = objected
        .apply(&sample(Action::Review), at(2, 12, 18, 0), &c)
        .unwrap();
    assert_eq!(l.state, CaseState::Dispatched);
    assert_eq!(l.handler, Some(unit(DEPT)));
    assert_eq!(l.due_at, objected.due_at);
    assert_eq!(
        ch.notices,
        vec![(NoticeKind::Assigned, Recipient::Unit(unit(DEPT)))]
    );
    // Accepted with a new unit: dispatched there with fresh deadlines.
    let (l, _) = objected
        .apply(
            &Command::Review {
                accept: true,
                redispatch: Some(to_street()),
                note: note("改派街道"),
            },
            at(2, 13, 9, 0),
            &c,
        )
        .unwrap();
    assert_eq!(
        (l.state, l.handler),
        (CaseState::Dispatched, Some(unit(STREET)))
    );
    assert_eq!(l.dispatched_at, Some(at(2, 13, 9, 0)));
    assert!(l.co_handlers.is_empty());
    // Accepted without one: back to 待派遣.
    let (l, _) = objected
        .apply(
            &Command::Review {
                accept: true,
                redispatch: None,
                note: note("退回重新派遣"),
            },
            at(2, 13, 9, 0),
            &c,
        )
        .unwrap();
    assert_eq!(
        (l.state, l.handler, l.due_at),
        (CaseState::Registered, None, None)
    );
    // A handler who already signed may still object, until they reply.
    let (l, _) = fx["contacted"]
        .apply(&sample(Action::Object), t0(), &c)
        .unwrap();
    assert_eq!(l.state, CaseState::Objected);
}

#[test]
fn extensions_move_the_deadline_when_approved() {
    let c = cal();
    let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
    let asked = fx["extension"].clone();
    assert_eq!(asked.due_at, Some(at(2, 27, 0, 0)));
    let (l, _) = asked
        .apply(&sample(Action::DecideExtension), t0(), &c)
        .unwrap();
    // Three working days after Thursday 02-26: Fri 27, Sat 28 (make-up), Mon 03-02.
    assert_eq!(l.due_at, Some(at(3, 3, 0, 0)));
    assert_eq!((l.extension, l.counts.extensions), (None, 1));
    let (l, _) = asked
        .apply(
            &Command::DecideExtension {
                approve: false,
                note: note("理由不充分"),
            },
            t0(),
            &c,
        )
        .unwrap();
    assert_eq!(
        (l.due_at, l.extension, l.counts.extensions),
        (asked.due_at, None, 0)
    );
    // Rejecting needs a reason.
    assert!(
        asked
            .apply(
                &Command::DecideExtension {
                    approve: false,
                    note: String::new()
                },
                t0(),
                &c
            )
            .is_err()
    );
}

#[test]
fn pausing_stops_the_clock_and_resuming_moves_the_deadline() {
    let c = cal();
    let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
    // Paused from Thursday 02-12 15:00 to Tuesday 02-24 10:00: the clock lost Thu 15:00–24:00
    // (9 h), Fri 13 and Sat 14 (48 h) and Tue 00:00–10:00 (10 h) = 67 working hours.
    let paused = fx["paused"].clone();
    assert_eq!(paused.next_alarm(), None);
    assert_eq!(paused.light(at(3, 30, 0, 0)), Light::Stopped);
    let (l, ch) = paused
        .apply(&Command::Resume, at(2, 24, 10, 0), &c)
        .unwrap();
    assert_eq!(ch.to, CaseState::Handling);
    // 02-27 00:00 + 67 h of working time: Fri 27 (24 h), Sat 28 make-up (24 h), Mon 03-02 19 h.
    assert_eq!(l.due_at, Some(at(3, 2, 19, 0)));
    assert_eq!(l.paused_at, None);
    assert!(l.next_alarm().is_some());
}

#[test]
fn the_sweeper_warns_then_marks_overdue_exactly_once() {
    let c = cal();
    let fx: std::collections::HashMap<_, _> = fixtures().into_iter().collect();
    let l = fx["contacted"].clone();
    let warn = l.warn_at.unwrap();
    let due = l.due_at.unwrap();
    assert_eq!(l.next_alarm(), Some(warn));
    assert!(l.apply(&Command::Warn, Ts(warn.0 - 1), &c).is_err());
    let (l, ch) = l.apply(&Command::Warn, warn, &c).unwrap();
    assert_eq!(
        ch.notices,
        vec![(NoticeKind::Warning, Recipient::Unit(unit(DEPT)))]
    );
    assert_eq!(l.next_alarm(), Some(due));
    assert!(l.apply(&Command::Warn, due, &c).is_err(), "only once");
    let (l, ch) = l.apply(&Command::Overdue, due, &c).unwrap();
    assert_eq!(ch.notices.len(), 2);
    assert_eq!(l.counts.supervisions, 1, "overdue is an automatic 督办");
    assert_eq!(l.next_alarm(), None);
    assert!(l.apply(&Command::Overdue, due, &c).is_err(), "only once");
    assert_eq!(l.light(due), Light::Red);
    // An approved extension lifts the red mark and re-arms the alarms.
    let l = walk(
        l,
        &[
            (
                due,
                Command::Extend {
                    days: 5,
                    reason: note("需要协调"),
                },
            ),
            (
                due,
                Command::DecideExtension {
                    approve: true,
                    note: String::new(),
                },
            ),
        ],
    );
    assert_eq!(l.overdue_at, None);
    assert_eq!(l.light(due), Light::Green);
    assert_eq!(l.next_alarm(), l.warn_at);
    // A case first seen after its deadline gets both marks in one step.
    let late = fx["dispatched"].clone();
    let (l, _) = late.apply(&Command::Overdue, due, &c).unwrap();
    assert!(l.warned_at.is_some() && l.overdue_at.is_some());
}

#[test]
fn anonymous_requests_skip_first_contact() {
    let l = Lifecycle::received(RequestType::Report, Urgency::Normal, true);
    let l = walk(
        l,
        &[
            (t0(), Command::Register { urgency: None }),
            (t0(), Command::Dispatch(to_dept())),
            (t0(), Command::Sign),
        ],
    );
    assert!(!l.admissible().contains(&Action::Contact));
    let l = walk(
        l,
        &[(
            t0(),
            Command::Reply {
                result: note("已查处"),
            },
        )],
    );
    assert_eq!(l.state, CaseState::Replied);
}

#[test]
fn rules_name_a_permission_and_party_for_every_action() {
    for &a in Action::ALL {
        let (perm, party) = a.rule();
        assert!(perm.key().starts_with("case."), "{a:?}");
        if matches!(a, Action::Warn | Action::Overdue) {
            assert_eq!(party, Party::System);
        }
    }
    assert_eq!(
        Action::Sign.rule(),
        (Permission::CaseHandle, Party::Handler)
    );
    assert_eq!(
        Action::Dispatch.rule(),
        (Permission::CaseDispatch, Party::Owner)
    );
    assert_eq!(
        Action::Verify.rule(),
        (Permission::CaseVerify, Party::Verifier)
    );
}

#[test]
fn keys_round_trip() {
    for &s in CaseState::ALL {
        assert_eq!(CaseState::parse(s.key()), Some(s));
    }
    for &a in Action::ALL {
        assert_eq!(Action::parse(a.key()), Some(a));
    }
    for &d in Disposition::ALL {
        assert_eq!(Disposition::parse(d.key()), Some(d));
    }
    assert_eq!(Channel::ALL.len(), 6);
    assert_eq!(RequestType::ALL.len(), 5);
    assert_eq!(Disposition::ALL.len(), 7);
    assert_eq!(date(2026, 2, 30), None);
}

mod random_walks {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever sequence of steps people try, the machine never panics, refuses what
        /// `admissible` leaves out, and keeps its invariants.
        #[test]
        fn invariants_hold(steps in proptest::collection::vec((0usize..21, 0i64..400_000), 1..60)) {
            let c = cal();
            let mut l = fresh();
            let mut now = t0();
            for (i, dt) in steps {
                now = now.plus_secs(dt);
                let a = Action::ALL[i % Action::ALL.len()];
                let adm = l.admissible();
                match l.apply(&sample(a), now, &c) {
                    Ok((next, ch)) => {
                        prop_assert!(adm.contains(&a) || matches!(a, Action::Warn | Action::Overdue));
                        prop_assert_eq!(ch.from, l.state);
                        l = next;
                    }
                    Err(_) => prop_assert!(!adm.contains(&a) || matches!(a, Action::Warn | Action::Overdue) || a == Action::Reopen),
                }
                let handled = matches!(l.state, CaseState::Dispatched | CaseState::Objected | CaseState::Handling | CaseState::Replied);
                prop_assert!(!handled || (l.handler.is_some() && l.due_at.is_some()));
                if l.state == CaseState::Registered { prop_assert!(l.due_at.is_none()); }
                prop_assert!(l.warn_at <= l.due_at);
                if l.state == CaseState::Handling { prop_assert!(l.signed_at.is_some()); }
                if l.state == CaseState::Closed { prop_assert!(l.closed_on_time.is_some()); }
                prop_assert!(l.next_alarm().is_none() || l.clock_running());
            }
        }
    }
}
