//! Notifications: which case steps are events worth telling someone about, what the requester's
//! text message says, and how long a failed delivery waits before the next try.
//!
//! Requesters hear about the steps they care about (registered, dispatched, replied, closed,
//! reopened) by SMS; outside systems subscribed by webhook hear about those and about the
//! handler's deadline warnings and overdue marks. Texts carry the case number and nothing
//! personal: the phone a message goes to is read from the sealed case at sending time.

use crate::case::CaseState;

crate::keyed! {
    /// An event of a case that is delivered outside the platform.
    Topic {
        Received = "case.received", "已受理";
        Registered = "case.registered", "已立案";
        Dispatched = "case.dispatched", "已派遣";
        Replied = "case.replied", "已答复";
        Closed = "case.closed", "已办结";
        Merged = "case.merged", "并入原工单";
        Reopened = "case.reopened", "重新办理";
        Warning = "case.warning", "临期预警";
        Overdue = "case.overdue", "已超期";
    }
}

crate::keyed! {
    /// Where a delivery goes.
    Sink {
        Sms = "sms", "短信";
        Webhook = "webhook", "Webhook";
    }
}

crate::keyed! {
    /// Where a delivery stands.
    DeliveryState {
        Pending = "pending", "待投递";
        Delivered = "delivered", "已投递";
        Dead = "dead", "投递失败";
    }
}

/// The event a step of the timeline is, if any: `action` is the timeline action key
/// (`receive` for intake), `to` the state the step leads to, `duplicate` whether the step
/// disposed of the case as a duplicate of another (重复诉求: merged into the original).
pub fn topic_of(action: &str, to: CaseState, duplicate: bool) -> Option<Topic> {
    Some(match (action, to) {
        (_, CaseState::Disposed) if duplicate => Topic::Merged,
        ("receive", _) => Topic::Received,
        ("register", _) => Topic::Registered,
        ("reply", _) => Topic::Replied,
        ("reopen", _) => Topic::Reopened,
        ("warn", _) => Topic::Warning,
        ("overdue", _) => Topic::Overdue,
        // 立案 straight to a unit, a re-dispatch after an upheld objection or a consultation.
        (_, CaseState::Dispatched) => Topic::Dispatched,
        // 核实结案, and the requests that end without dispatch (Art. 11).
        (_, CaseState::Closed | CaseState::Disposed) => Topic::Closed,
        _ => return None,
    })
}

impl Topic {
    /// Whether the requester is told by SMS (the rest go to webhooks only).
    pub fn for_requester(self) -> bool {
        matches!(
            self,
            Topic::Registered
                | Topic::Dispatched
                | Topic::Replied
                | Topic::Closed
                | Topic::Reopened
                | Topic::Merged
        )
    }

    /// Whether the requesters of the cases merged into a case are told of this step of it
    /// (the original's answer and its closing).
    pub fn for_merged(self) -> bool {
        matches!(self, Topic::Replied | Topic::Closed)
    }

    /// The text message for a case merged into `original` (a 重复诉求): at the merge, what the
    /// original is at (`progress`, its state's label); later, the original's step `self`.
    pub fn merged_sms_text(
        self,
        sign: &str,
        number: &str,
        original: &str,
        progress: &str,
    ) -> Option<String> {
        let now = match self {
            Topic::Merged => format!("目前进展：{progress}"),
            Topic::Replied => "该工单承办单位已答复办理结果".to_string(),
            Topic::Closed => "该工单已办结".to_string(),
            _ => return None,
        };
        Some(format!(
            "【{sign}】您的诉求（编号 {number}）与工单 {original} 反映的是同一问题，已并入该工单办理，{now}。"
        ))
    }

    /// The requester's text message for case `number`, signed with the platform's name.
    pub fn sms_text(self, sign: &str, number: &str) -> Option<String> {
        let body = match self {
            Topic::Registered => "已立案，我们将尽快办理",
            Topic::Dispatched => "已转交承办单位办理，承办单位将与您联系",
            Topic::Replied => "承办单位已答复办理结果，后续将向您回访",
            Topic::Closed => "已办结，感谢您的反映",
            Topic::Reopened => "已重新办理",
            // Merged cases are told through `merged_sms_text`, which names the original.
            Topic::Merged => "已并入反映同一问题的工单办理",
            _ => return None,
        };
        Some(format!("【{sign}】您的诉求（编号 {number}）{body}。"))
    }

    /// Whether a subscription's topic list (comma separated; `*` for all) takes this topic.
    pub fn matches(self, topics: &str) -> bool {
        topics
            .split(',')
            .map(str::trim)
            .any(|t| t == "*" || t == self.key())
    }
}

/// Seconds before try `attempt + 1` after `attempt` failed (1-based): 30 s, doubling, at most
/// six hours — eight tries span about two hours.
pub fn backoff_secs(attempt: i64) -> i64 {
    let exp = attempt.clamp(1, 20) - 1;
    (30_i64 << exp).min(6 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_become_topics() {
        use CaseState::*;
        assert_eq!(topic_of("receive", Pending, false), Some(Topic::Received));
        assert_eq!(
            topic_of("register", Registered, false),
            Some(Topic::Registered)
        );
        assert_eq!(
            topic_of("dispatch", Dispatched, false),
            Some(Topic::Dispatched)
        );
        assert_eq!(
            topic_of("review", Dispatched, false),
            Some(Topic::Dispatched)
        );
        assert_eq!(topic_of("verify", Closed, false), Some(Topic::Closed));
        assert_eq!(topic_of("dispose", Disposed, false), Some(Topic::Closed));
        assert_eq!(topic_of("dispose", Disposed, true), Some(Topic::Merged));
        assert_eq!(topic_of("verify", Handling, false), None);
        assert_eq!(topic_of("sign", Handling, false), None);
        assert_eq!(topic_of("note", Handling, false), None);
        assert_eq!(topic_of("visit", Visited, false), None);
        assert_eq!(topic_of("reopen", Handling, false), Some(Topic::Reopened));
        assert_eq!(topic_of("warn", Handling, false), Some(Topic::Warning));
    }

    #[test]
    fn requesters_get_their_topics_only() {
        let told: Vec<Topic> = Topic::ALL
            .iter()
            .copied()
            .filter(|t| t.for_requester())
            .collect();
        assert_eq!(told.len(), 6);
        for t in Topic::ALL {
            assert_eq!(
                t.sms_text("邻里", "X").is_some(),
                t.for_requester(),
                "{t:?}"
            );
        }
        assert_eq!(
            Topic::Closed
                .sms_text("邻里", "110101-20261121-000001")
                .as_deref(),
            Some("【邻里】您的诉求（编号 110101-20261121-000001）已办结，感谢您的反映。")
        );
    }

    #[test]
    fn a_merged_requester_hears_the_original_and_its_progress() {
        assert_eq!(
            Topic::Merged
                .merged_sms_text("邻里", "D-2", "O-1", "办理中")
                .as_deref(),
            Some(
                "【邻里】您的诉求（编号 D-2）与工单 O-1 反映的是同一问题，已并入该工单办理，目前进展：办理中。"
            )
        );
        let later = Topic::Closed.merged_sms_text("邻里", "D-2", "O-1", "");
        assert!(later.is_some_and(|t| t.ends_with("该工单已办结。")));
        for t in Topic::ALL {
            assert_eq!(
                t.merged_sms_text("邻里", "D", "O", "").is_some(),
                *t == Topic::Merged || t.for_merged(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn subscriptions_match_topics() {
        assert!(Topic::Closed.matches("*"));
        assert!(Topic::Closed.matches("case.replied, case.closed"));
        assert!(!Topic::Closed.matches("case.replied"));
        assert!(!Topic::Closed.matches(""));
    }

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        assert_eq!(backoff_secs(1), 30);
        assert_eq!(backoff_secs(2), 60);
        assert_eq!(backoff_secs(3), 120);
        assert_eq!(backoff_secs(0), 30);
        assert_eq!(backoff_secs(50), 6 * 3600);
        let total: i64 = (1..8).map(backoff_secs).sum();
        assert_eq!(total, 30 * 127);
    }
}
