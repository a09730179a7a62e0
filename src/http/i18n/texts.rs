//! Every problem code's message, in English and Chinese.

/// (code, English, Chinese) for problem codes and field error codes.
pub(super) const TEXTS: &[(&str, &str, &str)] = &[
    // problems
    (
        "malformed_json",
        "The request body is not valid JSON.",
        "请求体不是有效的 JSON。",
    ),
    (
        "validation_failed",
        "Some fields are invalid.",
        "部分字段无效。",
    ),
    (
        "invalid_query",
        "The query string is invalid.",
        "查询参数无效。",
    ),
    (
        "invalid_path",
        "The path contains an invalid identifier.",
        "路径中的标识符无效。",
    ),
    (
        "invalid_header",
        "A request header is invalid.",
        "请求头无效。",
    ),
    (
        "cors_rejected",
        "This origin, method or header is not allowed for cross-origin requests.",
        "不允许该来源、方法或请求头的跨域请求。",
    ),
    (
        "unsupported_media_type",
        "The request body must be JSON.",
        "请求体必须是 JSON。",
    ),
    (
        "unsupported_format",
        "This format is not offered: ask for json, csv or xlsx.",
        "不支持该格式，请使用 json、csv 或 xlsx。",
    ),
    (
        "payload_too_large",
        "The request body is too large.",
        "请求体过大。",
    ),
    ("missing_token", "Authentication is required.", "需要登录。"),
    (
        "invalid_token",
        "The access token is invalid or expired.",
        "访问令牌无效或已过期。",
    ),
    (
        "client_not_allowed",
        "Integration clients cannot call this endpoint.",
        "第三方客户端不能调用此接口。",
    ),
    (
        "insufficient_scope",
        "The client's token lacks the scope this endpoint requires.",
        "客户端令牌缺少此接口所需的权限范围。",
    ),
    ("unknown_scope", "Unknown scope.", "未知的权限范围。"),
    (
        "client_revoked",
        "This client has been revoked.",
        "该客户端已被吊销。",
    ),
    (
        "rate_limited",
        "Too many requests; try again later.",
        "请求过于频繁，请稍后再试。",
    ),
    (
        "user_disabled",
        "This account is disabled.",
        "该账号已停用。",
    ),
    (
        "invalid_credentials",
        "The login or password is wrong.",
        "账号或密码错误。",
    ),
    (
        "invalid_refresh_token",
        "The refresh token is invalid or expired.",
        "刷新令牌无效或已过期。",
    ),
    (
        "refresh_token_reused",
        "The refresh token was already used; all sessions of this login were revoked.",
        "刷新令牌已被使用，本次登录的所有会话均已撤销。",
    ),
    (
        "invalid_ticket",
        "The stream ticket is invalid, expired or already used; ask for a new one.",
        "事件流票据无效、已过期或已被使用，请重新获取。",
    ),
    (
        "token_in_url",
        "Access tokens are not accepted in URLs; send the Authorization header, or use a stream ticket.",
        "不接受 URL 中的访问令牌；请使用 Authorization 请求头，或使用事件流票据。",
    ),
    (
        "too_many_attempts",
        "Too many failed logins; try again later.",
        "登录失败次数过多，请稍后再试。",
    ),
    (
        "forbidden",
        "You are not allowed to do this.",
        "您无权执行此操作。",
    ),
    (
        "forbidden_field",
        "You may not change some of these fields.",
        "您无权修改其中部分字段。",
    ),
    (
        "already_linked",
        "This resident record is already linked to an account.",
        "该居民档案已关联账号。",
    ),
    (
        "link_not_allowed",
        "Only someone who may grant this record's role here may link an account to it.",
        "只有可在本社区授予该角色的人员才能为此档案关联账号。",
    ),
    (
        "reveal_not_allowed",
        "Your role may not see this personal data in full.",
        "您的角色无权查看完整个人信息。",
    ),
    ("not_found", "Not found.", "未找到。"),
    ("route_not_found", "No such endpoint.", "接口不存在。"),
    (
        "method_not_allowed",
        "This method is not allowed here.",
        "不支持该请求方法。",
    ),
    (
        "topic_not_open",
        "The topic is already decided or dropped.",
        "该议题已有决定或已撤销。",
    ),
    (
        "vote_not_open",
        "No vote has been opened on this topic.",
        "该议题尚未发起表决。",
    ),
    (
        "vote_already_opened",
        "This topic's vote was opened already; a topic has one vote.",
        "该议题已发起过表决，每个议题只表决一次。",
    ),
    (
        "vote_open",
        "The vote is still open; close it before recording the decision.",
        "表决尚未结束，请先结束表决再记录决定。",
    ),
    ("vote_closed", "The vote is closed.", "表决已结束。"),
    (
        "already_voted",
        "You have voted on this topic already; change your ballot instead.",
        "您已对该议题投过票，如需改票请修改原选票。",
    ),
    (
        "not_a_resident",
        "Only residents of the community may do this.",
        "仅限本社区居民操作。",
    ),
    (
        "results_not_published",
        "The results are published when the vote closes.",
        "表决结束后公布结果。",
    ),
    (
        "invalid_transition",
        "This request cannot do that in its current state.",
        "诉求当前状态不允许此操作。",
    ),
    (
        "state_changed",
        "Someone else changed this request first; reload it and try again.",
        "诉求已被他人先行处理，请刷新后重试。",
    ),
    (
        "offer_not_open",
        "This offer is no longer open.",
        "该派单已失效。",
    ),
    ("offer_expired", "This offer has expired.", "该派单已超时。"),
    (
        "load_cap_reached",
        "You already have as many orders as you can take.",
        "您的在办工单已达上限。",
    ),
    (
        "not_claimable",
        "Only needs found proactively can be claimed.",
        "只有主动发现的需求可以认领。",
    ),
    (
        "missing_skills",
        "You lack a skill this service needs.",
        "您不具备该服务所需的技能。",
    ),
    (
        "volunteer_not_active",
        "The volunteer is not active.",
        "该志愿者当前不在服务状态。",
    ),
    (
        "offers_open",
        "This request already has open offers.",
        "该诉求已有待接的派单。",
    ),
    (
        "no_candidate",
        "No volunteer can take this request now.",
        "当前没有可派单的志愿者。",
    ),
    (
        "request_not_waiting",
        "A request in the batch is not waiting for dispatch.",
        "批量中有诉求不在待派单状态。",
    ),
    (
        "not_assignee",
        "Only the volunteer serving this request may do that.",
        "只有承接该诉求的志愿者可以执行此操作。",
    ),
    (
        "excluded_by_resident",
        "The resident has asked not to be served by this volunteer.",
        "居民已要求不由该志愿者服务。",
    ),
    (
        "not_a_volunteer",
        "Only volunteers may do that.",
        "只有志愿者可以执行此操作。",
    ),
    (
        "duplicate",
        "Something with these details already exists.",
        "已存在相同信息的记录。",
    ),
    (
        "role_already_granted",
        "The user already holds this role.",
        "该用户已拥有此角色。",
    ),
    (
        "idempotency_in_progress",
        "A request with this Idempotency-Key is still being processed.",
        "相同幂等键的请求仍在处理中。",
    ),
    (
        "idempotency_answer_lost",
        "The request with this Idempotency-Key was carried out, but its answer was lost.",
        "相同幂等键的请求已执行，但其应答已丢失。",
    ),
    (
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request.",
        "该幂等键已用于不同的请求。",
    ),
    (
        "precondition_required",
        "This update needs an If-Match header with the current ETag.",
        "更新需要携带当前 ETag 的 If-Match 请求头。",
    ),
    (
        "stale_version",
        "The object was changed by someone else; reload it and try again.",
        "该记录已被他人修改，请刷新后重试。",
    ),
    ("unavailable", "The service is not ready.", "服务尚未就绪。"),
    (
        "database_unavailable",
        "The database cannot be reached just now; try again shortly.",
        "数据库暂时无法访问，请稍后重试。",
    ),
    (
        "server_busy",
        "The server is busy; try again in a moment.",
        "服务器繁忙，请稍后再试。",
    ),
    (
        "internal_error",
        "Something went wrong on our side.",
        "服务器内部错误。",
    ),
    ("bad_request", "The request is invalid.", "请求无效。"),
    // field errors
    ("required", "This field is required.", "此字段为必填项。"),
    (
        "before_start",
        "This must come after the start.",
        "结束时间必须晚于开始时间。",
    ),
    (
        "in_the_past",
        "This time has already passed.",
        "该时间已过去。",
    ),
    (
        "not_allowed",
        "This value is not allowed here.",
        "此处不允许该取值。",
    ),
    (
        "period_too_large",
        "The period holds too many requests; choose a shorter one.",
        "时间段内数据过多，请缩短时间段。",
    ),
    ("too_long", "This value is too long.", "内容过长。"),
    ("too_many", "Too many items.", "条目过多。"),
    (
        "invalid_characters",
        "This value contains invalid characters.",
        "包含无效字符。",
    ),
    (
        "invalid_value",
        "This value has the wrong type or form.",
        "值的类型或格式不正确。",
    ),
    (
        "unknown_value",
        "This value is not one of the allowed values.",
        "不是允许的取值。",
    ),
    (
        "unknown_field",
        "This field is not recognised.",
        "无法识别的字段。",
    ),
    (
        "invalid_phone",
        "This is not a valid phone number.",
        "电话号码无效。",
    ),
    (
        "invalid_id_card",
        "This is not a valid ID card number.",
        "身份证号码无效。",
    ),
    (
        "invalid_time_zone",
        "This time zone does not exist.",
        "时区不存在。",
    ),
    (
        "invalid_code",
        "Use lowercase letters, digits, '_' or '-', starting with a letter.",
        "只能使用小写字母、数字、下划线或连字符，并以字母开头。",
    ),
    (
        "out_of_range",
        "This value is out of range.",
        "数值超出范围。",
    ),
    ("invalid_time", "Use HH:MM.", "请使用 HH:MM 格式。"),
    (
        "invalid_weekday",
        "Use 1 (Monday) to 7 (Sunday).",
        "请使用 1（周一）至 7（周日）。",
    ),
    (
        "invalid_time_window",
        "The window must end after it starts.",
        "结束时间必须晚于开始时间。",
    ),
    (
        "overlapping_windows",
        "Two windows on the same day overlap.",
        "同一天的时间段有重叠。",
    ),
    (
        "invalid_date",
        "Use YYYY-MM-DD, not in the future.",
        "请使用 YYYY-MM-DD 格式，且不能晚于今天。",
    ),
    (
        "unknown_grade",
        "This grade is not in the community's visit policy.",
        "该等级不在社区走访政策中。",
    ),
    (
        "unknown_reference",
        "This refers to something that does not exist here.",
        "引用的对象不存在。",
    ),
    (
        "weak_password",
        "Use at least 8 characters.",
        "密码至少 8 位。",
    ),
    ("invalid", "This value is invalid.", "值无效。"),
    (
        "immutable",
        "This field cannot be changed.",
        "此字段不可修改。",
    ),
    (
        "visit_already_completed",
        "This visit has already been completed.",
        "该走访已完成。",
    ),
    (
        "not_on_team",
        "Only the visit's care team may do that.",
        "只有该走访的关爱团队成员可以执行此操作。",
    ),
    (
        "visit_not_open",
        "This visit's window has not opened yet.",
        "该走访的时间窗口尚未开始。",
    ),
    (
        "plan_exists",
        "This resident already has an active visit plan.",
        "该居民已有生效的走访计划。",
    ),
    (
        "plan_ended",
        "This visit plan has ended.",
        "该走访计划已结束。",
    ),
    (
        "mediation_closed",
        "This mediation is closed: its outcome is recorded.",
        "该调解案件已结案。",
    ),
    (
        "resident_inactive",
        "This resident is no longer active.",
        "该居民已停用。",
    ),
    (
        "role_mismatch",
        "The user does not hold this role in the community.",
        "该用户在本社区不具备此角色。",
    ),
    ("invalid_month", "Use YYYY-MM.", "请使用 YYYY-MM 格式。"),
    (
        "not_with_range",
        "Give either a month or a from/to range, not both.",
        "请只提供月份或起止范围之一。",
    ),
    (
        "openid_in_use",
        "This WeChat identity already belongs to another user.",
        "该微信身份已绑定其他用户。",
    ),
    (
        "incompatible_source",
        "This source cannot fill a field of this kind.",
        "该数据来源不能填充此类字段。",
    ),
    (
        "cannot_revoke_own_admin",
        "You cannot revoke your own admin role.",
        "不能撤销自己的管理员角色。",
    ),
    (
        "webhook_url_not_allowed",
        "The webhook URL must point to a public address.",
        "推送地址必须指向公网地址。",
    ),
    (
        "unknown_wechat_app",
        "No active WeChat app is registered with this app id.",
        "未登记该 AppID 的小程序，或已停用。",
    ),
    (
        "wechat_code_invalid",
        "WeChat refused the code: it is invalid, expired or already used; call wx.login again.",
        "微信未接受该 code（无效、已过期或已使用），请重新调用 wx.login。",
    ),
    (
        "wechat_rate_limited",
        "WeChat is limiting sign-ins right now; try again later.",
        "微信接口调用过于频繁，请稍后再试。",
    ),
    (
        "wechat_unavailable",
        "WeChat cannot be reached right now; try again later.",
        "暂时无法连接微信，请稍后再试。",
    ),
    (
        "binding_ticket_invalid",
        "The binding ticket is invalid, expired or already used; sign in with WeChat again.",
        "绑定凭证无效、已过期或已使用，请重新微信登录。",
    ),
    (
        "phone_not_registered",
        "This phone number is not registered with the station; ask the station or your grid worker to register you.",
        "该手机号未在服务站登记，请联系服务站或网格员登记。",
    ),
    (
        "phone_ambiguous",
        "This phone number belongs to several people here; bind with your login and password, or ask the station.",
        "该手机号对应多位居民，请使用账号密码绑定，或联系服务站。",
    ),
    (
        "wechat_app_not_serving",
        "This mini-program does not serve your community.",
        "该小程序不服务于您所在的社区。",
    ),
    (
        "file_too_large",
        "The file is larger than 5 MB; split it into several sheets.",
        "文件超过 5 MB，请拆分为多个表格后分别导入。",
    ),
    (
        "not_a_spreadsheet",
        "The file is not a spreadsheet; send an XLSX or CSV file.",
        "文件不是表格，请上传 XLSX 或 CSV 文件。",
    ),
    (
        "csv_not_utf8",
        "The CSV file is not UTF-8; save it as \"CSV UTF-8\" or as XLSX.",
        "CSV 文件不是 UTF-8 编码，请另存为“CSV UTF-8”或 XLSX 格式。",
    ),
    (
        "empty_sheet",
        "The sheet has no header row.",
        "表格没有表头行。",
    ),
    (
        "too_many_rows",
        "The sheet has more than 20,000 rows; split it into several sheets.",
        "表格超过 20000 行，请拆分后分别导入。",
    ),
    (
        "missing_header",
        "A required column is missing from the header row.",
        "表头缺少必填列。",
    ),
    (
        "duplicate_header",
        "The header row names this column twice.",
        "表头中该列重复出现。",
    ),
    (
        "import_invalid",
        "Some rows are invalid; nothing was imported.",
        "部分行有误，未导入任何数据。",
    ),
    (
        "import_conflict",
        "Records changed while the import ran; nothing was imported, run it again.",
        "导入期间有记录被修改，未导入任何数据，请重新导入。",
    ),
    (
        "id_or_phone_required",
        "Give an ID number or a phone number, so that the row can be matched on the next import.",
        "身份证号和电话至少填写一项。",
    ),
    (
        "xls_not_supported",
        "Excel 97-2003 files (.xls) are not read: save the sheet as .xlsx or as CSV UTF-8.",
        "不支持 Excel 97-2003 文件（.xls），请另存为 .xlsx 或 CSV UTF-8 后导入。",
    ),
    (
        "phone_taken",
        "This phone number belongs to another community's account; invite its owner instead.",
        "该电话已是其他社区的账号，请改为邀请本人加入。",
    ),
    (
        "account_disabled",
        "The account with this phone number is disabled.",
        "该电话对应的账号已停用。",
    ),
    (
        "phone_shared",
        "Several volunteers have this phone number; correct their profiles first.",
        "该电话对应多位志愿者，请先更正其资料。",
    ),
    (
        "ambiguous_match",
        "Several residents have this phone number; add the ID number.",
        "该电话对应多位居民，请填写身份证号。",
    ),
    (
        "webhook_inactive",
        "The webhook is turned off; turn it on first.",
        "该推送地址已停用，请先启用。",
    ),
];
