//! The demo district's dispatch catalogue. The real 15/118/517 sample tree
//! (`shared/data/catalogue/teddy2020_taxonomy.csv`, not redistributable) is loaded when it can be
//! found, with demo routing by category; otherwise our own small catalogue
//! (`fixtures/catalogue-demo.csv`, embedded in the binary).

use std::path::PathBuf;

use linli_domain::case::Urgency;
use linli_domain::catalogue::{self as dom, Catalogue};
use linli_domain::org::OrgKind;
use linli_store::repo::catalogue as repo;

use super::{DISPATCH, save};
use crate::{App, AppError, Ctx, Result};

pub const DEMO_TENANT: &str = "110101";

const FIXTURE: &str = include_str!("../../../../fixtures/catalogue-demo.csv");
const TEDDY: &str = "catalogue/teddy2020_taxonomy.csv";

/// Where the shared data folder's sample tree would be: `$LINLI_SHARED_DATA/…`, else
/// `../shared/data/…` from the working directory (the product root in development).
pub fn teddy_path() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("LINLI_SHARED_DATA").map(|d| PathBuf::from(d).join(TEDDY)),
        Some(PathBuf::from("../shared/data").join(TEDDY)),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// Load a catalogue for the demo district unless it has one. Fast: one file, one transaction.
pub async fn load(app: &App, ctx: &Ctx) -> Result<()> {
    if repo::count_versions(&app.db, DEMO_TENANT, DISPATCH).await? > 0 {
        return Ok(());
    }
    let teddy = teddy_path().and_then(|p| std::fs::read(p).ok());
    let (cat, source, note) = match teddy.as_deref().map(dom::parse_csv) {
        Some(Ok(mut cat)) => {
            route_teddy(&mut cat);
            (
                cat,
                "teddy2020_taxonomy.csv",
                "演示：泰迪杯 2020 样例分类（15/118/517），按一级分类配置演示责任部门",
            )
        }
        other => {
            if let Some(Err(e)) = other {
                tracing::warn!(error = %e, "sample catalogue unreadable; using the built-in demo catalogue");
            }
            let cat = dom::parse_csv(FIXTURE.as_bytes())
                .map_err(|e| AppError::Internal(format!("demo catalogue fixture: {e}")))?;
            (cat, "catalogue-demo.csv", "演示：内置常见社区事项目录")
        }
    };
    let sys = crate::bootstrap::system_principal(app, ctx.clone()).await?;
    save(app, &sys, DEMO_TENANT, cat, source, note, true).await?;
    Ok(())
}

/// Demo routing of the sample tree: a department of the demo district per level-1 category
/// (with a few level-2/3 exceptions), 紧急 for safety matters, and the community allowed where
/// its duty list covers the matter. Categories without a demo department stay blank: the
/// dispatcher chooses.
fn route_teddy(cat: &mut Catalogue) {
    for leaf in cat.leaves_mut() {
        let mut names = leaf.full_name.split(dom::PATH_SEP);
        let l1 = names.next().unwrap_or("");
        let l2 = names.next().unwrap_or("");
        let l3 = leaf.name.as_str();
        let dept = match (l1, l2, l3) {
            (_, _, "自来水供应") | (_, "水利水电", _) => Some("B05"),
            (_, _, "电力供应") => Some("B06"),
            ("城乡建设", "城市建设和市政管理", _) | ("城乡建设", "城乡规划", "违章建筑") => {
                Some("B01")
            }
            ("城乡建设", _, _) => Some("B02"),
            ("环境保护", _, _) => Some("B08"),
            ("交通运输", _, _) | ("政法", "交通管理", _) => Some("B10"),
            ("卫生计生", "食品药品监管", _) => Some("B07"),
            ("卫生计生", _, _) => Some("B09"),
            ("民政", _, _) => Some("B04"),
            ("商贸旅游" | "经济管理", _, _) => Some("B07"),
            ("政法", _, _) => Some("B03"),
            _ => None,
        };
        let r = &mut leaf.routing;
        if let Some(d) = dept {
            r.handler_kind = Some(OrgKind::Department);
            r.handler_code = format!("{DEMO_TENANT}{d}");
        }
        if matches!(l3, "安全隐患" | "事故处理" | "燃气供应" | "施工安全") {
            r.urgency = Some(Urgency::Urgent);
        }
        r.community_may = matches!(l3, "小区管理" | "环境卫生" | "居民服务设施")
            || matches!(l2, "基层选举和社区建设" | "社会服务" | "村务管理");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_fixture_is_a_valid_catalogue() {
        let c = dom::parse_csv(FIXTURE.as_bytes()).unwrap();
        let (l1, _, l3) = c.counts();
        assert_eq!((l1, l3), (10, 42));
        assert!(c.leaves().all(|i| i.routing.handler_kind.is_some()));
    }

    #[test]
    fn sample_tree_routing() {
        let mut c = dom::parse_csv(
            "一级分类,二级分类,三级分类\n城乡建设,城市建设和市政管理,小区管理\n城乡建设,城市建设和市政管理,自来水供应\n纪检监察,其他,其他\n"
                .as_bytes(),
        )
        .unwrap();
        route_teddy(&mut c);
        let leaves: Vec<_> = c.leaves().collect();
        assert_eq!(leaves[0].routing.handler_code, "110101B01");
        assert!(leaves[0].routing.community_may);
        assert_eq!(leaves[1].routing.handler_code, "110101B05");
        assert_eq!(leaves[2].routing.handler_kind, None);
    }
}
