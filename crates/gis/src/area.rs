//! Areas in square metres on the WGS84 ellipsoid, of the regions the boolean operations work
//! on: edges straight in longitude/latitude, rings in either winding.
//!
//! Why not geo's geodesic area: it takes every edge as a geodesic, which bows away from the
//! straight lng/lat line by about L²·tan φ / 8R (17 cm for a 3 km east–west edge at Beijing). The
//! boolean operations work in the lng/lat plane, so the slivers they leave along long edges are
//! nothing in that plane yet measure hundreds of m² geodesically. (The same goes, less so, for
//! the shoelace formula in an equal-area projection: the projected edge bows too.) So the area
//! here is the exact ellipsoidal area of the region whose edges are straight in lng/lat:
//! by Green's theorem A = ∮ (a²/2)·q(φ) dλ, with q the authalic-latitude function whose
//! derivative is the ellipsoid's area element; along a straight edge that is Simpson's rule,
//! exact for edges far longer than any grid's. On real polygons it agrees with the geodesic
//! area to a few parts per million; on planar slivers it gives their true, tiny area.

use geo::{LineString, MultiPolygon, Polygon};

/// WGS84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS84 flattening.
const F: f64 = 1.0 / 298.257_223_563;

/// Area of one polygon (exterior minus holes), m².
pub fn polygon_m2(p: &Polygon<f64>) -> f64 {
    let holes: f64 = p.interiors().iter().map(ring_m2).sum();
    (ring_m2(p.exterior()) - holes).max(0.0)
}

/// Area of a multipolygon, m²; its parts are assumed not to overlap.
pub fn area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(polygon_m2).sum()
}

/// Unsigned area enclosed by one ring, m².
fn ring_m2(ring: &LineString<f64>) -> f64 {
    let Some(first) = ring.0.first() else {
        return 0.0;
    };
    // ∮ q dλ is unchanged by subtracting a constant from q (∮ dλ = 0 on a closed ring); using
    // q − q(φ₀) keeps the terms small so the sum keeps its digits.
    let q0 = authalic_q(first.y.to_radians());
    let mut sum = 0.0;
    for w in ring.0.windows(2) {
        let (p, c) = (w[0], w[1]);
        let (lat1, lat2) = (p.y.to_radians(), c.y.to_radians());
        let mid = authalic_q((lat1 + lat2) / 2.0);
        let mean_q = (authalic_q(lat1) + 4.0 * mid + authalic_q(lat2)) / 6.0 - q0;
        sum += (c.x - p.x).to_radians() * mean_q;
    }
    (A * A / 2.0 * sum).abs()
}

/// q(φ) of the authalic latitude (Snyder, Map Projections — A Working Manual, eq. 3-12).
fn authalic_q(phi: f64) -> f64 {
    let e2 = F * (2.0 - F);
    let e = e2.sqrt();
    let s = phi.sin();
    let es = e * s;
    (1.0 - e2) * (s / (1.0 - e2 * s * s) - (1.0 / (2.0 * e)) * ((1.0 - es) / (1.0 + es)).ln())
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{GeodesicArea, polygon};

    #[test]
    fn agrees_with_geodesic_area_on_real_sizes() {
        // A 1 km-ish square and a 10 km-ish one near Beijing, and one with a hole.
        for (d, tol) in [(0.01, 1e-5), (0.1, 1e-4)] {
            let p = polygon![
                (x: 116.4, y: 39.9), (x: 116.4 + d, y: 39.9), (x: 116.4 + d, y: 39.9 + d),
                (x: 116.4, y: 39.9 + d), (x: 116.4, y: 39.9)
            ];
            let g = p.geodesic_area_signed().abs();
            let ours = polygon_m2(&p);
            assert!((ours - g).abs() < tol * g, "{ours} vs {g}");
        }
        let holed = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 0.01, y: 0.0), (x: 0.01, y: 0.01), (x: 0.0, y: 0.01)],
            interiors: [[(x: 0.004, y: 0.004), (x: 0.004, y: 0.006), (x: 0.006, y: 0.006), (x: 0.006, y: 0.004)]],
        );
        let g = holed.geodesic_area_signed().abs();
        assert!((polygon_m2(&holed) - g).abs() < 1e-5 * g);
        // Winding does not matter.
        let mut rev = holed.clone();
        rev.exterior_mut(|r| r.0.reverse());
        assert_eq!(polygon_m2(&rev), polygon_m2(&holed));
    }
}
