-- Treaty core schema: pacticipants, versions, branches, tags, pact contents and
-- publications, verifications, integrations.
-- Append-only: never edit a migration that has landed; add a new one.

CREATE TABLE pacticipants (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    name                 TEXT NOT NULL UNIQUE,
    display_name         TEXT,
    repository_url       TEXT,
    repository_name      TEXT,
    repository_namespace TEXT,
    main_branch          TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE labels (
    pacticipant_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (pacticipant_id, name)
);
CREATE INDEX labels_by_name ON labels (name);

-- A version's id is also its order: "latest" means most recently created.
CREATE TABLE versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    number         TEXT NOT NULL,
    build_url      TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (pacticipant_id, number)
);

-- head_version_id: the version most recently added to the branch, kept on write.
CREATE TABLE branches (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    pacticipant_id  INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    head_version_id INTEGER REFERENCES versions (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (pacticipant_id, name)
);

-- id orders additions to a branch; re-adding a version moves it to the top.
CREATE TABLE branch_versions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    branch_id    INTEGER NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    version_id   INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    auto_created INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    UNIQUE (branch_id, version_id)
);
CREATE INDEX branch_versions_by_version ON branch_versions (version_id);

CREATE TABLE tags (
    version_id     INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    pacticipant_id INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (version_id, name)
);
CREATE INDEX tags_by_pacticipant_and_name ON tags (pacticipant_id, name, version_id);

-- Each distinct pact content is stored once per consumer/provider pair.
CREATE TABLE pact_contents (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_id        INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_id        INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    sha                TEXT NOT NULL,
    content            TEXT NOT NULL,
    interactions_count INTEGER NOT NULL,
    messages_count     INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    UNIQUE (consumer_id, provider_id, sha)
);

-- The pact a consumer version publishes for a provider: one current row per
-- (consumer version, provider); revision counts merges.
CREATE TABLE pact_publications (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer_id         INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_id         INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    consumer_version_id INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    pact_content_id     INTEGER NOT NULL REFERENCES pact_contents (id) ON DELETE CASCADE,
    revision            INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    UNIQUE (consumer_version_id, provider_id)
);
CREATE INDEX pact_publications_by_pair ON pact_publications (provider_id, consumer_id, consumer_version_id);
CREATE INDEX pact_publications_by_content ON pact_publications (pact_content_id);

-- id is the global verification number.
CREATE TABLE verifications (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    pact_content_id       INTEGER NOT NULL REFERENCES pact_contents (id) ON DELETE CASCADE,
    provider_version_id   INTEGER NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    consumer_id           INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_id           INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    success               INTEGER NOT NULL,
    build_url             TEXT,
    test_results          TEXT,
    verified_by           TEXT,
    provider_version_tags TEXT NOT NULL DEFAULT '[]',
    execution_date        TEXT NOT NULL
);
CREATE INDEX verifications_by_content_and_provider_version ON verifications (pact_content_id, provider_version_id);
CREATE INDEX verifications_by_provider_version ON verifications (provider_version_id);

CREATE TABLE integrations (
    consumer_id              INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    provider_id              INTEGER NOT NULL REFERENCES pacticipants (id) ON DELETE CASCADE,
    created_at               TEXT NOT NULL,
    contract_data_updated_at TEXT NOT NULL,
    PRIMARY KEY (consumer_id, provider_id)
);
CREATE INDEX integrations_by_provider ON integrations (provider_id);
