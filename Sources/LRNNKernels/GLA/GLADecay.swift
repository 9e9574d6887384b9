import LRNNLinearAlgebra
import RealModule

extension GLA {
    /// Decay factors below this are set to zero: `√(leastNormal / ε)` (Float ≈ 3e−16, Double ≈ 1e−146).
    /// A product of two kept factors stays a normal number with ~1/ε of headroom, so no subnormal
    /// operand (which costs a microcode assist per operation on x86) reaches the loops or the GEMMs;
    /// a dropped term is smaller than the kept ones by far more than the precision.
    static func flushBelow<T: LRNNScalar>(_: T.Type) -> T { (T.leastNormalMagnitude / T.ulpOfOne).squareRoot() }

    /// `a = exp(g)` for log-decays `g ≤ 0`, with factors below ``flushBelow(_:)`` set to zero.
    ///
    /// Float and Double use a branch-free exponential the compiler vectorises (libm's is a call per
    /// element): `exp(x) = 2ⁿ·p(r)`, n = round(x/ln 2) by the 1.5·2^(p−1) rounding trick,
    /// r = x − n·ln 2 in two parts (|r| ≤ ln 2 / 2), p the Taylor polynomial of degree 7 (Float) or 13
    /// (Double), whose truncation error is below one ulp; 2ⁿ is assembled from its exponent bits.
    /// Inputs below `log(flushBelow)` give exactly 0, so n stays far from the subnormal range; so does
    /// −∞ (a reset).
    @inline(__always)
    static func decayFactors<T: LRNNScalar>(_ g: UnsafePointer<T>, into a: UnsafeMutablePointer<T>, count: Int) {
        if T.self == Float.self {
            expFloat(
                UnsafeRawPointer(g).assumingMemoryBound(to: Float.self),
                UnsafeMutableRawPointer(a).assumingMemoryBound(to: Float.self), count)
        } else if T.self == Double.self {
            expDouble(
                UnsafeRawPointer(g).assumingMemoryBound(to: Double.self),
                UnsafeMutableRawPointer(a).assumingMemoryBound(to: Double.self), count)
        } else {
            let tiny = flushBelow(T.self)
            for x in 0..<count {
                let e = T.exp(g[x])
                a[x] = e * (e < tiny ? 0 : 1)
            }
        }
    }

    @inline(__always)
    static func expFloat(_ g: UnsafePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ count: Int) {
        let lo = Float.log((Float.leastNormalMagnitude / Float.ulpOfOne).squareRoot())
        let log2e: Float = 1.442_695_040_888_963
        let ln2hi: Float = 0.693_359_375
        let ln2lo: Float = -2.121_944_4e-4
        let magic: Float = 12_582_912  // 1.5·2²³
        let magicBits = Int32(bitPattern: magic.bitPattern)
        for i in 0..<count {
            let g0 = g[i]
            let keep: Float = g0 < lo ? 0 : 1
            let x = g0 < lo ? 0 : g0  // not g0·keep: −∞·0 is NaN
            let t = x * log2e + magic
            let n = t - magic
            let r = (x - n * ln2hi) - n * ln2lo
            var p: Float = 1.0 / 5040
            p = p * r + 1.0 / 720
            p = p * r + 1.0 / 120
            p = p * r + 1.0 / 24
            p = p * r + 1.0 / 6
            p = p * r + 0.5
            p = p * r + 1
            p = p * r + 1
            let e = Int32(bitPattern: t.bitPattern) &- magicBits
            a[i] = p * Float(bitPattern: UInt32(bitPattern: (e &+ 127) << 23)) * keep
        }
    }

    @inline(__always)
    static func expDouble(_ g: UnsafePointer<Double>, _ a: UnsafeMutablePointer<Double>, _ count: Int) {
        let lo = Double.log((Double.leastNormalMagnitude / Double.ulpOfOne).squareRoot())
        let log2e: Double = 1.442_695_040_888_963_4
        let ln2hi: Double = 6.931_471_803_691_238_164_90e-01
        let ln2lo: Double = 1.908_214_929_270_587_700_02e-10
        let magic: Double = 6_755_399_441_055_744  // 1.5·2⁵²
        let magicBits = Int64(bitPattern: magic.bitPattern)
        for i in 0..<count {
            let g0 = g[i]
            let keep: Double = g0 < lo ? 0 : 1
            let x = g0 < lo ? 0 : g0  // not g0·keep: −∞·0 is NaN
            let t = x * log2e + magic
            let n = t - magic
            let r = (x - n * ln2hi) - n * ln2lo
            var p: Double = 1.0 / 6_227_020_800
            p = p * r + 1.0 / 479_001_600
            p = p * r + 1.0 / 39_916_800
            p = p * r + 1.0 / 3_628_800
            p = p * r + 1.0 / 362_880
            p = p * r + 1.0 / 40320
            p = p * r + 1.0 / 5040
            p = p * r + 1.0 / 720
            p = p * r + 1.0 / 120
            p = p * r + 1.0 / 24
            p = p * r + 1.0 / 6
            p = p * r + 0.5
            p = p * r + 1
            p = p * r + 1
            let e = Int64(bitPattern: t.bitPattern) &- magicBits
            a[i] = p * Double(bitPattern: UInt64(bitPattern: (e &+ 1023) << 52)) * keep
        }
    }
}
