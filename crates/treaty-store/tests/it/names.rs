//! Every stored name, page by page (`treaty doctor`), on both backends.

use treaty_domain::model::PacticipantFields;
use treaty_domain::{PacticipantName, TagName, VersionNumber};
use treaty_store::testing::TestDatabase;
use treaty_store::{NameKind, StoredName, VersionChanges};

async fn all(db: &TestDatabase, kind: NameKind, page: u32) -> Vec<(Option<String>, String)> {
    let mut names = Vec::new();
    let mut after: Option<StoredName> = None;
    loop {
        let found = db
            .store
            .stored_names(kind, after.as_ref(), page)
            .await
            .unwrap();
        let done = found.len() < page as usize;
        names.extend(
            found
                .iter()
                .map(|n| (n.pacticipant.clone(), n.name.clone())),
        );
        after = found.into_iter().last();
        if done {
            return names;
        }
    }
}

#[tokio::test]
async fn every_name_is_read_once_in_pages() {
    let db = TestDatabase::fresh().await.unwrap();
    for pacticipant in ["Bar", "Foo", " Legacy"] {
        let name = PacticipantName::parse_lookup(pacticipant).unwrap();
        db.store
            .create_pacticipant(&name, PacticipantFields::default())
            .await
            .unwrap();
        for number in ["1", "2", "1\u{202E}0"] {
            db.store
                .put_version(
                    &name,
                    &VersionNumber::parse_lookup(number).unwrap(),
                    VersionChanges {
                        build_url: None,
                        tags: Some(vec![TagName::parse("prod").unwrap()]),
                        branch: None,
                        replace: false,
                    },
                )
                .await
                .unwrap();
        }
    }
    let mut pacticipants = all(&db, NameKind::Pacticipant, 2).await;
    pacticipants.sort();
    assert_eq!(
        pacticipants,
        [" Legacy", "Bar", "Foo"].map(|n| (None, n.to_owned()))
    );
    let versions = all(&db, NameKind::Version, 2).await;
    assert_eq!(versions.len(), 9, "{versions:?}");
    assert!(versions.contains(&(Some(" Legacy".to_owned()), "1\u{202E}0".to_owned())));
    // A tag on many versions is one name per pacticipant.
    assert_eq!(all(&db, NameKind::Tag, 2).await.len(), 3);
    assert!(all(&db, NameKind::Label, 2).await.is_empty());
}
