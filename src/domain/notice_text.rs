//! The words of a notification (inbox, live stream, WeChat), in the reader's language. Titles
//! are short enough for a phone's notification line; bodies name the service or the day, never
//! personal data (the object it links to shows what the reader may see).

use serde_json::Value;

use crate::domain::lang::Lang;

/// 三务公开's three boards.
fn category_zh(params: &Value) -> &'static str {
    match params["category"].as_str() {
        Some("party") => "党务公开",
        Some("finance") => "财务公开",
        _ => "居务公开",
    }
}

fn category_en(params: &Value) -> &'static str {
    match params["category"].as_str() {
        Some("party") => "Party affairs",
        Some("finance") => "Finances",
        _ => "Community affairs",
    }
}

/// `(title, body)` of an inbox item of `kind` with `params` (`service`, `deadline`,
/// `window_start`, `reason`, `description`).
pub fn words(kind: &str, params: &Value, lang: Lang) -> (String, String) {
    let service = params["service"].as_str().unwrap_or("");
    let day = params["window_start"]
        .as_str()
        .map(|d| d.get(..10).unwrap_or(d))
        .unwrap_or("");
    let title = params["title"].as_str().unwrap_or("");
    // The community's clock, `2030-07-01 16:00`.
    let start = params["starts_at"].as_str().unwrap_or("");
    let zh = lang == Lang::Zh;
    let (t_zh, t_en, b_zh, b_en): (&str, &str, String, String) = match kind {
        "help_request.offered"
        | "help_request.dispatched_by_hand"
        | "help_request.dispatched_in_batch" => (
            "新的派单",
            "New request for you",
            format!("{service}：请尽快答复是否接单。"),
            format!("{service}: please answer whether you can take it."),
        ),
        "help_request.offer_expired" => (
            "派单已超时",
            "Offer expired",
            format!("{service}：答复时间已过，已转派他人。"),
            format!("{service}: the time to answer has passed; it went to someone else."),
        ),
        "help_request.accepted" | "help_request.claimed" => (
            "已有志愿者接单",
            "A volunteer took your request",
            format!("您的{service}需求已有志愿者接单。"),
            format!("A volunteer will help with your request ({service})."),
        ),
        "help_request.started" => (
            "志愿者已开始服务",
            "Service started",
            format!("志愿者已开始为您提供{service}服务。"),
            format!("The volunteer has started on your request ({service})."),
        ),
        "help_request.completed" => (
            "服务已完成",
            "Service completed",
            format!("您的{service}需求已完成，欢迎评价。"),
            format!("Your request ({service}) is done. Please rate it."),
        ),
        "help_request.returned" => (
            "需求已退回重派",
            "Request handed back",
            format!("志愿者退回了您的{service}需求，服务站正在重新派单。"),
            format!(
                "The volunteer handed back your request ({service}); the station is finding someone else."
            ),
        ),
        "help_request.cancelled" => (
            "需求已取消",
            "Request cancelled",
            format!("您的{service}需求已取消。"),
            format!("Your request ({service}) was cancelled."),
        ),
        "help_request.reopened" => (
            "需求已重新打开",
            "Request reopened",
            format!("您的{service}需求已重新打开。"),
            format!("Your request ({service}) was reopened."),
        ),
        "help_request.escalated" => (
            "需求待人工派单",
            "Request needs a dispatcher",
            format!("{service}需求无人接单，请人工派单。"),
            format!("Nobody could take a request ({service}); please dispatch it by hand."),
        ),
        "help_request.reminder" => (
            "催办提醒",
            "Reminder",
            format!("{service}需求即将到期，请及时处理。"),
            format!("A request ({service}) is nearly due."),
        ),
        "help_request.overdue" => (
            "督办：需求已超时",
            "Overdue request",
            format!("{service}需求已超过时限，请督办。"),
            format!("A request ({service}) is past its deadline."),
        ),
        "visit.missed" => (
            "走访未按时完成",
            "Visit missed",
            format!("{day}的走访窗口已过，尚未走访。"),
            format!("The visit due in the window from {day} did not happen."),
        ),
        "visit.due" => (
            "今日待走访",
            "Visit due today",
            format!("{day}起有一次走访待完成。"),
            format!("A visit is due from {day}."),
        ),
        "visit.major_change" => (
            "重大变故，请尽快走访",
            "Major change: visit soon",
            "一位居民发生重大变故，请尽快走访。".to_string(),
            "A resident had a major change; please visit soon.".to_string(),
        ),
        "webhook.disabled" => {
            let name = params["description"].as_str().unwrap_or("");
            let gone = params["reason"].as_str() == Some("gone");
            (
                "推送地址已停用",
                "Webhook turned off",
                if gone {
                    format!("接收方表示推送地址{name}已不存在，已停止推送。")
                } else {
                    format!("推送地址{name}多次推送失败，已停止推送；请检查后重新启用。")
                },
                if gone {
                    format!("The receiver of webhook {name} says it is gone; nothing more is sent.")
                } else {
                    format!(
                        "Deliveries to webhook {name} kept failing, so it was turned off; check it and turn it on again."
                    )
                },
            )
        }
        "mobilisation.published" if params["kind"] == "emergency" => (
            "紧急召集",
            "Emergency call-out",
            format!("{title}：{start}开始，请立即报名或告知不能到场。"),
            format!("{title}: starts {start}; sign up now or say you can't come."),
        ),
        "mobilisation.published" => (
            "志愿活动招募",
            "Volunteers wanted",
            format!("{title}：{start}开始，欢迎报名。"),
            format!("{title}: starts {start}; sign up if you can come."),
        ),
        "mobilisation.promoted" => (
            "候补转正，已为您保留名额",
            "You have a place now",
            format!("{title}：您已从候补转为确认参加。"),
            format!("{title}: you moved up from the waiting list and are confirmed."),
        ),
        "mobilisation.cancelled" => (
            "活动已取消",
            "Call-out cancelled",
            format!("{title}已取消，无需到场。"),
            format!("{title} was cancelled; there is no need to come."),
        ),
        "notice.published" => (
            "社区公开",
            "Community notice",
            format!("{}：{title}", category_zh(params)),
            format!("{}: {title}", category_en(params)),
        ),
        "activity.pickup_overdue" => (
            "孩子尚未被接走",
            "Child not picked up",
            format!("{title}：课程结束已超过30分钟，仍有孩子未被接走。"),
            format!("{title}: a child is still waiting 30 minutes after the session ended."),
        ),
        _ => ("新消息", "New notification", String::new(), String::new()),
    };
    if zh {
        (t_zh.to_string(), b_zh)
    } else {
        (t_en.to_string(), b_en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audience::kinds;
    use serde_json::json;

    #[test]
    fn every_kind_anyone_is_told_about_has_its_own_words() {
        let p = json!({"service": "买药", "window_start": "2026-12-01T00:00:00Z"});
        for k in kinds() {
            for lang in [Lang::Zh, Lang::En] {
                let (title, body) = words(k, &p, lang);
                assert_ne!(title, words("nothing", &p, lang).0, "{k}");
                assert!(!body.is_empty() && title.chars().count() <= 32, "{k}");
            }
        }
        assert!(
            words("help_request.offered", &p, Lang::Zh)
                .1
                .contains("买药")
        );
        assert!(words("visit.missed", &p, Lang::En).1.contains("2026-12-01"));
    }
}
