use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn volunteers_are_registered_with_skills_and_weekly_availability() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (uid, vt) = app.user("volunteer", Some(&c)).await;
    let r = app
        .volunteer(&c, &uid, json!({"skills": ["smartphone_help", "errands"], "party_member": true, "max_concurrent": 2,
            "availability": [{"weekday": 6, "start": "14:00", "end": "17:00"}, {"weekday": 1, "start": "09:00", "end": "11:30"}]}))
        .await
        .expect(201);
    assert_eq!(r.body["skills"], json!(["errands", "smartphone_help"]));
    assert_eq!(
        r.body["availability"][0],
        json!({"weekday": 1, "start": "09:00", "end": "11:30"})
    );
    assert_eq!(r.body["status"], "active");
    // The volunteer sees their own profile and only that in the list.
    let own = app
        .get(&format!("/api/v1/volunteers/{}", r.id()), &vt)
        .await
        .expect(200);
    assert_eq!(own.body["phone"], "13900001111");
    let list = app
        .get(&format!("/api/v1/communities/{c}/volunteers"), &vt)
        .await
        .expect(200);
    assert_eq!(list.item_ids(), [r.id()]);
    let by_skill = app
        .get(
            &format!("/api/v1/communities/{c}/volunteers?skill=errands"),
            &app.admin,
        )
        .await
        .expect(200);
    assert_eq!(by_skill.item_ids(), [r.id()]);
    assert!(
        app.get(
            &format!("/api/v1/communities/{c}/volunteers?skill=cooking"),
            &app.admin
        )
        .await
        .expect(200)
        .items()
        .is_empty()
    );
    app.volunteer(&c, &uid, json!({}))
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn bad_availability_and_skills_are_rejected_field_by_field() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (uid, _) = app.user("volunteer", Some(&c)).await;
    let r = app
        .volunteer(&c, &uid, json!({"skills": ["Bad Skill"], "max_concurrent": 0, "status": "sleeping", "phone": "110",
            "availability": [{"weekday": 1, "start": "11:00", "end": "09:00"}]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        [
            ("phone".into(), "invalid_phone".into()),
            ("skills".into(), "invalid_code".into()),
            ("status".into(), "unknown_value".into()),
            ("max_concurrent".into(), "out_of_range".into()),
            ("availability[0]".into(), "invalid_time_window".into()),
        ]
    );
    let overlap = app
        .volunteer(&c, &uid, json!({"availability": [{"weekday": 1, "start": "09:00", "end": "11:00"}, {"weekday": 1, "start": "10:00", "end": "12:00"}]}))
        .await
        .problem(422, "validation_failed");
    assert_eq!(
        overlap.field_codes(),
        [("availability".into(), "overlapping_windows".into())]
    );
    assert!(
        app.get(&format!("/api/v1/communities/{c}/volunteers"), &app.admin)
            .await
            .expect(200)
            .items()
            .is_empty()
    );
}

#[tokio::test]
async fn volunteers_edit_their_availability_but_not_their_skills() {
    let app = spawn_app().await;
    let c = app.community("电力社区").await;
    let (uid, vt) = app.user("volunteer", Some(&c)).await;
    let v = app.volunteer(&c, &uid, json!({})).await.expect(201);
    let path = format!("/api/v1/volunteers/{}", v.id());
    let up = app
        .patch(&path, &vt, &v.etag(), json!({"status": "paused", "availability": [{"weekday": 7, "start": "08:00", "end": "10:00"}]}))
        .await
        .expect(200);
    assert_eq!(up.body["status"], "paused");
    app.patch(&path, &vt, &up.etag(), json!({"skills": ["first_aid"]}))
        .await
        .problem(403, "forbidden_field");
    app.patch(&path, &vt, &up.etag(), json!({"status": "retired"}))
        .await
        .problem(403, "forbidden_field");
    app.delete(&path, &vt).await.problem(403, "forbidden");
    app.patch(
        &path,
        &app.admin,
        &up.etag(),
        json!({"user_id": app.user("volunteer", Some(&c)).await.0}),
    )
    .await
    .problem(422, "validation_failed");
    app.delete(&path, &app.admin).await.expect(204);
    assert_eq!(
        app.get(&path, &app.admin).await.expect(200).body["status"],
        "retired"
    );
}
