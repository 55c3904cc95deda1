//! WGS84 degrees ⇄ local east/north metres about a scene origin.
//!
//! Scene files are WGS84 (EPSG:4326); everything inside Binjiang works in metres on a local
//! east-north plane, so distances and areas are plain Euclidean sums. This is the one place
//! that converts. North is the meridian arc scaled by the WGS84 meridional radius of curvature
//! at the origin; east uses the prime-vertical radius at the point's own latitude, so the
//! mapping is exactly invertible and east-west distances stay true across the district.

use geo::Coord;

/// WGS84 semi-major axis, metres.
const WGS84_A: f64 = 6_378_137.0;
/// WGS84 first eccentricity squared.
const WGS84_E2: f64 = 6.694_379_990_141_316e-3;

/// A local east/north frame tangent to the WGS84 ellipsoid at an origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    lon0: f64,
    lat0: f64,
    /// Metres per radian of latitude at the origin (meridional radius of curvature).
    m0: f64,
}

impl LocalFrame {
    /// A frame centred on `(lon, lat)` in degrees.
    pub fn new(lon: f64, lat: f64) -> Self {
        let s = lat.to_radians().sin();
        let w = 1.0 - WGS84_E2 * s * s;
        let m0 = WGS84_A * (1.0 - WGS84_E2) / w.powf(1.5);
        LocalFrame {
            lon0: lon,
            lat0: lat,
            m0,
        }
    }

    /// The origin as `(lon, lat)` degrees.
    pub fn origin(&self) -> (f64, f64) {
        (self.lon0, self.lat0)
    }

    /// Projects WGS84 degrees to local metres (x east, y north).
    ///
    /// ```
    /// use binjiang_scene::LocalFrame;
    /// let f = LocalFrame::new(121.535, 31.26);
    /// let p = f.to_local(121.545, 31.26);
    /// assert!((p.x - 951.0).abs() < 2.0 && p.y.abs() < 1e-9);
    /// ```
    pub fn to_local(&self, lon: f64, lat: f64) -> Coord {
        let y = (lat - self.lat0).to_radians() * self.m0;
        let x = (lon - self.lon0).to_radians() * parallel_radius(lat);
        Coord { x, y }
    }

    /// Inverse of [`LocalFrame::to_local`]: local metres back to `(lon, lat)` degrees.
    pub fn to_wgs84(&self, c: Coord) -> (f64, f64) {
        let lat = self.lat0 + (c.y / self.m0).to_degrees();
        let lon = self.lon0 + (c.x / parallel_radius(lat)).to_degrees();
        (lon, lat)
    }
}

/// Radius of the parallel at `lat` degrees: prime-vertical radius × cos(lat).
fn parallel_radius(lat: f64) -> f64 {
    let (s, c) = lat.to_radians().sin_cos();
    WGS84_A / (1.0 - WGS84_E2 * s * s).sqrt() * c
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Euclidean, Geodesic, Point};
    use proptest::prelude::*;

    const ORIGIN: (f64, f64) = (121.535, 31.262);

    proptest! {
        #[test]
        fn round_trip_is_below_a_millimetre(dx in -0.12f64..0.12, dy in -0.1f64..0.1) {
            let f = LocalFrame::new(ORIGIN.0, ORIGIN.1);
            let (lon, lat) = (ORIGIN.0 + dx, ORIGIN.1 + dy);
            let c = f.to_local(lon, lat);
            let (lon2, lat2) = f.to_wgs84(c);
            let back = f.to_local(lon2, lat2);
            prop_assert!(Euclidean.distance(Point::from(c), Point::from(back)) < 1e-3);
            prop_assert!((lon - lon2).abs() < 1e-9 && (lat - lat2).abs() < 1e-9);
        }

        #[test]
        fn distances_within_a_tenth_of_a_percent_of_geodesic(
            ax in -0.05f64..0.05, ay in -0.04f64..0.04,
            bearing in 0.0f64..360.0, len in 200.0f64..10_000.0,
        ) {
            let f = LocalFrame::new(ORIGIN.0, ORIGIN.1);
            let a = Point::new(ORIGIN.0 + ax, ORIGIN.1 + ay);
            let b = geo::Destination::destination(&Geodesic, a, bearing, len);
            let geodesic = Geodesic.distance(a, b);
            let local = Euclidean.distance(
                Point::from(f.to_local(a.x(), a.y())),
                Point::from(f.to_local(b.x(), b.y())),
            );
            prop_assert!((local - geodesic).abs() / geodesic < 1e-3,
                "local {local} vs geodesic {geodesic}");
        }
    }
}
