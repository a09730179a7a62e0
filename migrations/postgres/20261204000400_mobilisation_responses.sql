-- "Can't come": a volunteer's answer to a mobilisation they will not sign up for, so that the
-- dispatcher's live counts tell a refusal from silence. One per volunteer and mobilisation; a
-- live sign-up outweighs it (signing up undoes it).

create table mobilisation_responses (
    mobilisation_id uuid not null references mobilisations(id),
    volunteer_id uuid not null references volunteers(id),
    community_id uuid not null references communities(id),
    answer text not null check (answer in ('cant')),
    reason text,
    answered_at timestamptz not null,
    primary key (mobilisation_id, volunteer_id)
);

