/// Cache-blocked out-of-place transpose of `count` row-major `rows × columns` matrices stored
/// back to back: `dst[k][j, i] = src[k][i, j]`. Used to turn `[B, T, H]` sequences into
/// per-channel contiguous `[B, H, T]` rows (and back) in one memory pass.
@inlinable
func blockedTranspose<T>(
    _ src: UnsafePointer<T>, _ dst: UnsafeMutablePointer<T>, count: Int, rows: Int, columns: Int
) {
    let tile = 32
    for k in 0..<count {
        let s = src + k * rows * columns
        let d = dst + k * rows * columns
        var i0 = 0
        while i0 < rows {
            let i1 = Swift.min(i0 + tile, rows)
            var j0 = 0
            while j0 < columns {
                let j1 = Swift.min(j0 + tile, columns)
                for i in i0..<i1 { for j in j0..<j1 { d[j * rows + i] = s[i * columns + j] } }
                j0 = j1
            }
            i0 = i1
        }
    }
}
