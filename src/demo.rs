//! `seed-demo`: a realistic community to try the API on — 电力社区 with three grids, about 50
//! residents (elderly people living alone, children), 30 volunteers and a service catalogue.

use chrono::Datelike;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use crate::auth::{Grant, Principal};
use crate::domain::role::Role;
use crate::domain::volunteer::WeeklySlotDto;
use crate::services::accounts;
use crate::services::accounts::users::{RoleInput, UserInput};
use crate::services::registry::communities::{self, CommunityInput};
use crate::services::registry::grids::{self, GridInput};
use crate::services::registry::residents::{self, Consent, EmergencyContact, ResidentInput};
use crate::services::registry::service_types::{self, ServiceTypeInput};
use crate::services::registry::teams::{self, TeamInput};
use crate::services::registry::volunteers::{self, VolunteerInput};
use crate::services::visits::plans::{self, MemberInput, PlanInput};
use crate::services::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store;

pub const DEMO_PASSWORD: &str = "huying-demo-2026";

const SURNAMES: &[&str] = &[
    "孙", "李", "王", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "郭", "马", "郜", "武",
];
const GIVEN_OLD: &[&str] = &[
    "秀英", "桂兰", "玉珍", "淑芬", "建国", "国庆", "德明", "福生", "桂芳", "志强", "凤英", "长顺",
];
const GIVEN_YOUNG: &[&str] = &[
    "子涵", "浩然", "欣怡", "梓轩", "雨桐", "一诺", "思远", "可馨", "宇航", "佳怡",
];
const GIVEN_ADULT: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛",
];
const SKILLS: &[&str] = &[
    "smartphone",
    "cooking",
    "escort",
    "cleaning",
    "repairs",
    "errands",
    "companionship",
    "childcare",
    "mediation",
    "first_aid",
];

/// (code, name, skills, urgency)
const CATALOGUE: &[(&str, &str, &[&str], &str)] = &[
    ("smartphone_help", "智能手机帮办", &["smartphone"], "normal"),
    ("meal_help", "助餐", &["cooking"], "normal"),
    ("medical_escort", "助医陪诊", &["escort"], "urgent"),
    ("cleaning", "助洁", &["cleaning"], "normal"),
    ("repairs", "家电维修", &["repairs"], "normal"),
    ("errands", "代购代办", &["errands"], "normal"),
    ("companionship", "精神慰藉", &["companionship"], "normal"),
    ("childcare", "课后托管", &["childcare"], "normal"),
    ("mediation", "邻里调解", &["mediation"], "normal"),
    ("emergency_help", "紧急救助", &["first_aid"], "emergency"),
];

fn id_card(birth: chrono::NaiveDate, seq: u32) -> String {
    let body = format!("140403{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let check = crate::domain::id_card::check_character(&body).expect("17 digits");
    format!("{body}{check}")
}

fn pick(rng: &mut StdRng, items: &[&'static str]) -> &'static str {
    items[rng.gen_range(0..items.len())]
}

async fn user(
    ctx: &AppState,
    admin: &Principal,
    username: Option<&str>,
    phone: Option<String>,
    name: &str,
    roles: &[(Role, Uuid)],
) -> ServiceResult<Uuid> {
    let u = accounts::users::create_user(
        ctx,
        admin,
        UserInput {
            username: username.map(str::to_string),
            phone,
            display_name: name.to_string(),
            password: Some(DEMO_PASSWORD.to_string()),
            active: true,
            roles: roles
                .iter()
                .map(|(r, c)| RoleInput {
                    role: r.as_str().to_string(),
                    community_id: Some(*c),
                })
                .collect(),
        },
    )
    .await?;
    Ok(u.id)
}

pub async fn seed(ctx: &AppState) -> ServiceResult<String> {
    if let Some((name, Some(pw))) =
        accounts::users::bootstrap_admin(ctx, ctx.config.admin_password.as_deref()).await?
    {
        println!("Created the first admin account '{name}' with password {pw} (shown once).");
    }
    let admin_row = store::accounts::users::find_by_login(&ctx.db, "admin", None)
        .await?
        .ok_or_else(|| ServiceError::Internal("no admin account".into()))?;
    let admin = Principal::user(
        admin_row.id,
        vec![Grant {
            id: Uuid::nil(),
            role: Role::Admin,
            community_id: None,
        }],
    );
    let mut rng = StdRng::seed_from_u64(2001);

    let community = match communities::create(
        ctx,
        &admin,
        CommunityInput {
            code: "dianli".into(),
            name: "电力社区".into(),
            time_zone: "Asia/Shanghai".into(),
            policy: json!({}),
            active: true,
        },
    )
    .await
    {
        Ok(c) => c.id,
        Err(ServiceError::Validation(_)) => {
            return Ok("The demo community 'dianli' is already there; nothing was changed.".into());
        }
        Err(e) => return Err(e),
    };
    let c = community;
    user(
        ctx,
        &admin,
        Some("dianli-admin"),
        None,
        "社区主任",
        &[(Role::CommunityAdmin, c)],
    )
    .await?;
    user(
        ctx,
        &admin,
        Some("dispatcher"),
        None,
        "站点调度员",
        &[(Role::Dispatcher, c)],
    )
    .await?;
    let doctor = user(
        ctx,
        &admin,
        Some("doctor"),
        None,
        "家庭医生刘大夫",
        &[(Role::Doctor, c)],
    )
    .await?;

    let mut grid_ids = Vec::new();
    let mut workers = Vec::new();
    for (i, name) in ["第一网格", "第二网格", "第三网格"].iter().enumerate() {
        let worker = user(
            ctx,
            &admin,
            Some(&format!("grid{}", i + 1)),
            None,
            &format!("网格员{}", i + 1),
            &[(Role::GridWorker, c)],
        )
        .await?;
        let g = grids::create(
            ctx,
            &admin,
            c,
            GridInput {
                name: name.to_string(),
                description: Some(format!("电力社区{name}")),
                centre: Some(crate::domain::geo::Coordinates {
                    lat: 36.195 + 0.002 * i as f64,
                    lng: 113.118 + 0.002 * i as f64,
                }),
                grid_worker_ids: vec![worker],
                active: true,
            },
        )
        .await?;
        grid_ids.push(g.id);
        workers.push(worker);
    }

    for (code, name, skills, urgency) in CATALOGUE {
        service_types::create(
            ctx,
            &admin,
            c,
            ServiceTypeInput {
                code: code.to_string(),
                name: name.to_string(),
                description: None,
                required_skills: skills.iter().map(|s| s.to_string()).collect(),
                default_urgency: urgency.to_string(),
                respond_minutes: None,
                resolve_hours: None,
                active: true,
            },
        )
        .await?;
    }

    let today = chrono::Utc::now().date_naive();
    let resident_account = user(
        ctx,
        &admin,
        Some("sun-daniang"),
        None,
        "孙大娘",
        &[(Role::Resident, c)],
    )
    .await?;
    let mut residents_made = 0;
    // Grades come from the care categories and ages by the default policy's rules.
    let mut graded = Vec::new();
    for i in 0..50u32 {
        let (given, age, categories): (&str, i64, Vec<&str>) = match i {
            0..=19 => {
                let cats = if i % 2 == 0 {
                    vec!["living_alone", "advanced_age"]
                } else {
                    vec!["empty_nest", "chronic_illness"]
                };
                (pick(&mut rng, GIVEN_OLD), rng.gen_range(78..95), cats)
            }
            20..=29 => {
                let cats = if i % 4 == 0 {
                    vec!["child_in_difficulty"]
                } else {
                    vec![]
                };
                (pick(&mut rng, GIVEN_YOUNG), rng.gen_range(6..13), cats)
            }
            30..=34 => (
                pick(&mut rng, GIVEN_ADULT),
                rng.gen_range(40..70),
                vec!["disabled", "low_income"],
            ),
            _ => (pick(&mut rng, GIVEN_ADULT), rng.gen_range(25..70), vec![]),
        };
        let name = if i == 0 {
            "孙大娘".to_string()
        } else {
            format!("{}{given}", pick(&mut rng, SURNAMES))
        };
        let birth = today - chrono::Duration::days(age * 365 + rng.gen_range(0..360));
        let grid = grid_ids[(i % 3) as usize];
        let building = rng.gen_range(1..13);
        let contacts = if age >= 60 {
            vec![EmergencyContact {
                name: format!(
                    "{}{}",
                    pick(&mut rng, SURNAMES),
                    pick(&mut rng, GIVEN_ADULT)
                ),
                relation: Some("子女".into()),
                phone: format!("137{:08}", 10_000_000 + i * 7919),
            }]
        } else {
            vec![]
        };
        let made = residents::create(
            ctx,
            &admin,
            c,
            ResidentInput {
                name,
                gender: Some(
                    if i == 0 || rng.gen_bool(0.55) {
                        "female"
                    } else {
                        "male"
                    }
                    .into(),
                ),
                birth_date: None,
                phone: (age >= 16).then(|| format!("138{:08}", 20_000_000 + i * 104_729)),
                id_card_number: Some(id_card(birth, i)),
                grid_id: Some(grid),
                user_id: (i == 0).then_some(resident_account),
                building: Some(format!("{building}号楼")),
                unit: Some(format!("{}单元", rng.gen_range(1..4))),
                room: Some(format!("{}0{}", rng.gen_range(1..7), rng.gen_range(1..4))),
                address: Some(format!("潞州区太东街道电力社区{building}号楼")),
                location: Some(crate::domain::geo::Coordinates {
                    lat: 36.19 + rng.gen_range(0.0..0.01),
                    lng: 113.11 + rng.gen_range(0.0..0.01),
                }),
                emergency_contacts: contacts,
                care_categories: categories.iter().map(|s| s.to_string()).collect(),
                care_level: None,
                consent: Consent {
                    data_processing: true,
                    share_with_volunteers: rng.gen_bool(0.7),
                    phone_follow_up: true,
                },
                notes: (i == 0).then(|| "不会使用智能手机，子女在外地".to_string()),
                active: true,
            },
        )
        .await?;
        residents_made += 1;
        // 孙大娘's plan is the README's walk-through; the other graded residents have theirs.
        if i > 0 && made.care_level.is_some() {
            graded.push((made.id, workers[(i % 3) as usize]));
        }
    }

    let mut party = Vec::new();
    let mut elder_care = Vec::new();
    for i in 0..30u32 {
        let phone = format!("139{:08}", 30_000_000 + i);
        let name = format!(
            "{}{}",
            pick(&mut rng, SURNAMES),
            pick(&mut rng, GIVEN_ADULT)
        );
        let uid = user(
            ctx,
            &admin,
            None,
            Some(phone.clone()),
            &name,
            &[(Role::Volunteer, c)],
        )
        .await?;
        let mut skills: Vec<String> = (0..rng.gen_range(1..4))
            .map(|_| pick(&mut rng, SKILLS).to_string())
            .collect();
        skills.sort();
        skills.dedup();
        let mut days: Vec<i64> = (0..rng.gen_range(1..4))
            .map(|_| rng.gen_range(1..8))
            .collect();
        days.sort();
        days.dedup();
        let availability = days
            .iter()
            .map(|d| {
                let start = rng.gen_range(8..18);
                WeeklySlotDto {
                    weekday: *d,
                    start: format!("{start:02}:00"),
                    end: format!("{:02}:00", start + rng.gen_range(1..4)),
                }
            })
            .collect();
        let party_member = rng.gen_bool(0.3);
        let v = volunteers::create(
            ctx,
            &admin,
            c,
            VolunteerInput {
                user_id: uid,
                name,
                phone: Some(phone),
                home_grid_id: Some(grid_ids[(i % 3) as usize]),
                location: Some(crate::domain::geo::Coordinates {
                    lat: 36.19 + rng.gen_range(0.0..0.01),
                    lng: 113.11 + rng.gen_range(0.0..0.01),
                }),
                max_concurrent: rng.gen_range(1..4),
                skills: skills.clone(),
                availability,
                party_member,
                status: "active".into(),
            },
        )
        .await?;
        if party_member {
            party.push(v.id);
        }
        if skills
            .iter()
            .any(|s| s == "companionship" || s == "escort" || s == "cooking")
        {
            elder_care.push(v.id);
        }
    }
    for (name, members) in [("党员先锋队", party), ("助老服务队", elder_care)] {
        teams::create(
            ctx,
            &admin,
            c,
            TeamInput {
                name: name.into(),
                description: None,
                member_ids: members,
                active: true,
            },
        )
        .await?;
    }
    for (resident_id, worker) in &graded {
        plans::create(
            ctx,
            &admin,
            c,
            PlanInput {
                resident_id: *resident_id,
                team: vec![
                    MemberInput {
                        user_id: *worker,
                        role: "grid_worker".into(),
                    },
                    MemberInput {
                        user_id: doctor,
                        role: "doctor".into(),
                    },
                ],
                contact_kinds: vec!["home_visit".into(), "phone".into()],
                frequency_days: None,
                starts_on: None,
                ends_on: None,
                notes: None,
            },
        )
        .await?;
    }
    let called = mobilisation(ctx, &admin, c).await?;
    println!("{}", crate::demo_activities::seed(ctx, &admin, c).await?);
    println!("{}", crate::demo_notices::seed(ctx, &admin, c).await?);
    println!("{}", crate::demo_mediation::seed(ctx, &admin, c).await?);
    println!("{}", crate::demo_deliberation::seed(ctx, &admin, c).await?);
    Ok(format!(
        "Seeded 电力社区 (code dianli, id {c}): 3 grids, {residents_made} residents ({} with visit plans), 30 volunteers, {} service types, 2 teams.\n\
         Demo logins (password {DEMO_PASSWORD}): dianli-admin, dispatcher, doctor, grid1..grid3, sun-daniang (resident), volunteers by phone 13930000000..13930000029.\n\
         {called}",
        graded.len(),
        CATALOGUE.len()
    ))
}

/// 一呼百应: next week's flood watch on the river bank, published to every volunteer, with a
/// few already signed up (the patrol has room; the first-aid post is full, one waits).
async fn mobilisation(ctx: &AppState, admin: &Principal, c: Uuid) -> ServiceResult<String> {
    use crate::domain::mobilisation::Action;
    use crate::services::mobilisation::{mobilisations, signups};
    // Saturday of next week, 08:00–11:30 in Shanghai.
    let today = chrono::Utc::now().date_naive();
    let days = 7 + (6 - i64::from(today.weekday().num_days_from_monday())).rem_euclid(7);
    let day = today + chrono::Duration::days(days);
    let at = |h: u32, m: u32| day.and_hms_opt(h, m, 0).expect("a time of day").and_utc();
    let m = mobilisations::create(
        ctx,
        admin,
        c,
        mobilisations::MobilisationInput {
            title: "防汛巡查".into(),
            kind: "event".into(),
            description: Some(
                "汛期来临，沿浊漳河堤巡查隐患，清理排水口。请穿防滑鞋，带雨具。".into(),
            ),
            address: Some("潞州区浊漳河东堤电力社区段".into()),
            location: Some(crate::domain::geo::Coordinates {
                lat: 36.201,
                lng: 113.125,
            }),
            check_in_radius_m: None,
            starts_at: at(0, 0),
            ends_at: at(3, 30),
            signup_deadline: Some(at(0, 0) - chrono::Duration::hours(12)),
            attendance_mode: Some("check_in_out".into()),
            slots: vec![
                mobilisations::SlotInput {
                    title: "河堤巡查".into(),
                    skill: None,
                    count: Some(8),
                },
                mobilisations::SlotInput {
                    title: "后勤与急救点".into(),
                    skill: None,
                    count: Some(2),
                },
            ],
            audience: Default::default(),
        },
    )
    .await?;
    mobilisations::act(ctx, admin, m.id, Action::Publish).await?;
    let filter = store::registry::volunteers::VolunteerFilter {
        community_id: c,
        status: Some("active".into()),
        skill: None,
        team_id: None,
        home_grid_id: None,
        party_member: None,
        pattern: None,
        user_id: None,
    };
    let vols = store::registry::volunteers::list(&ctx.db, &filter, None, 8).await?;
    let (patrol, post) = (m.slots[0].id, m.slots[1].id);
    let mut signed = 0;
    for (n, v) in vols.iter().enumerate() {
        let slot = if n < 5 { patrol } else { post };
        let input = signups::SignupInput {
            slot_id: slot,
            volunteer_id: Some(v.id),
        };
        // A volunteer already confirmed elsewhere at that time is simply left out.
        match signups::sign_up(ctx, admin, m.id, input).await {
            Ok(_) => signed += 1,
            Err(ServiceError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(format!(
        "Mobilisation 防汛巡查 ({}) published for {day} with {signed} sign-ups.",
        m.id
    ))
}
