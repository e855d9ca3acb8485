//! Small geodesy on WGS84 points: distances, and the conversion of points that phone map SDKs
//! give in China's obfuscated datums (GCJ-02, used by AMap and Tencent maps; BD-09, Baidu's) back
//! to WGS84, which is what Linli stores.
//!
//! The GCJ-02 transform is the widely published approximation of the official offset; its
//! inverse is found by fixed-point iteration and is accurate to well under a metre, far below a
//! phone's own error.

/// Mean Earth radius, metres.
const EARTH_RADIUS: f64 = 6_371_008.8;

/// Great-circle distance between two WGS84 points, in metres (haversine).
pub fn metres_between(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// The datum a point was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datum {
    Wgs84,
    Gcj02,
    Bd09,
}

impl Datum {
    pub fn parse(s: &str) -> Option<Datum> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "wgs84" | "wgs-84" | "gps" => Some(Datum::Wgs84),
            "gcj02" | "gcj-02" | "amap" | "qq" => Some(Datum::Gcj02),
            "bd09" | "bd-09" | "baidu" => Some(Datum::Bd09),
            _ => None,
        }
    }
}

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lng(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS84 → GCJ-02 (the forward offset).
pub fn wgs84_to_gcj02(lat: f64, lng: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let dlat = transform_lat(lng - 105.0, lat - 35.0);
    let dlng = transform_lng(lng - 105.0, lat - 35.0);
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sq = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sq) * PI);
    let dlng = (dlng * 180.0) / (A / sq * rad.cos() * PI);
    (lat + dlat, lng + dlng)
}

/// GCJ-02 → WGS84, by iterating the forward offset.
pub fn gcj02_to_wgs84(lat: f64, lng: f64) -> (f64, f64) {
    let (mut wlat, mut wlng) = (lat, lng);
    for _ in 0..10 {
        let (glat, glng) = wgs84_to_gcj02(wlat, wlng);
        let (elat, elng) = (glat - lat, glng - lng);
        wlat -= elat;
        wlng -= elng;
        if elat.abs() < 1e-9 && elng.abs() < 1e-9 {
            break;
        }
    }
    (wlat, wlng)
}

/// BD-09 → GCJ-02 (Baidu's extra rotation).
pub fn bd09_to_gcj02(lat: f64, lng: f64) -> (f64, f64) {
    let x_pi = std::f64::consts::PI * 3000.0 / 180.0;
    let (x, y) = (lng - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * x_pi).sin();
    let theta = y.atan2(x) - 0.000003 * (x * x_pi).cos();
    (z * theta.sin(), z * theta.cos())
}

/// A point given in `datum`, as WGS84.
pub fn to_wgs84(datum: Datum, lat: f64, lng: f64) -> (f64, f64) {
    match datum {
        Datum::Wgs84 => (lat, lng),
        Datum::Gcj02 => gcj02_to_wgs84(lat, lng),
        Datum::Bd09 => {
            let (glat, glng) = bd09_to_gcj02(lat, lng);
            gcj02_to_wgs84(glat, glng)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        // Tiananmen to the Forbidden City's north gate: about 1.5 km due north.
        let d = metres_between(39.9087, 116.3975, 39.9226, 116.3972);
        assert!((1500.0..1600.0).contains(&d), "{d}");
        assert_eq!(metres_between(39.9, 116.4, 39.9, 116.4), 0.0);
    }

    #[test]
    fn gcj02_round_trips_and_offsets_by_hundreds_of_metres() {
        let (lat, lng) = (39.9087, 116.3975);
        let (glat, glng) = wgs84_to_gcj02(lat, lng);
        let offset = metres_between(lat, lng, glat, glng);
        assert!((100.0..800.0).contains(&offset), "{offset}");
        let (blat, blng) = gcj02_to_wgs84(glat, glng);
        assert!(metres_between(lat, lng, blat, blng) < 0.5);
    }

    #[test]
    fn bd09_comes_back_near_the_wgs84_point() {
        // BD-09 of a GCJ-02 point, by the published forward formula.
        let (glat, glng) = wgs84_to_gcj02(39.9087, 116.3975);
        let x_pi = std::f64::consts::PI * 3000.0 / 180.0;
        let z = (glng * glng + glat * glat).sqrt() + 0.00002 * (glat * x_pi).sin();
        let theta = glat.atan2(glng) + 0.000003 * (glng * x_pi).cos();
        let (blat, blng) = (z * theta.sin() + 0.006, z * theta.cos() + 0.0065);
        let (wlat, wlng) = to_wgs84(Datum::Bd09, blat, blng);
        assert!(metres_between(39.9087, 116.3975, wlat, wlng) < 5.0);
    }

    #[test]
    fn datum_names() {
        assert_eq!(Datum::parse("GCJ02"), Some(Datum::Gcj02));
        assert_eq!(Datum::parse(""), Some(Datum::Wgs84));
        assert_eq!(Datum::parse("mars"), None);
    }
}
