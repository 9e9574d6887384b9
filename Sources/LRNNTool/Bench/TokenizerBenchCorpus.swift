extension TokenizerBench {
    /// The lines the benchmark text is drawn from: prose, source code in three languages, numbers
    /// and dates, punctuation, and a little of other scripts and emoji.
    static let corpus = #"""
        A linear recurrent model keeps a fixed-size state per layer, so the cost of each new token does not grow with the context.
        The delta rule writes a value into the state after subtracting what the state already predicts for the key.
        Gated variants multiply the state by a decay between 0 and 1 before each write, which lets the model forget.
        During prefill the whole prompt is processed in chunks of 64 tokens, each chunk a handful of matrix products.
        During decoding every layer reads one token, updates its state in place and passes the result to the next layer.
        It was 1,048,576 bytes long; the second run took 0.0372 seconds, and the third one 0.0368 seconds.
        "Why does the tokenizer split numbers into single digits?" she asked. "Because arithmetic is easier that way," he said.
        Don't forget: it's the model's job to predict, and the user's job to decide what they'll do with the answer.
        On 2026-11-29 at 14:05 UTC the service answered 12,345 requests (99.7% within 250 ms); 38 timed out.
        See https://example.org/docs/getting-started?lang=en#install or write to support@example.org for help.
        The quick brown fox jumps over the lazy dog, while five boxing wizards jump quickly.

        func softmax(_ x: [Double]) -> [Double] {
            let m = x.max() ?? 0
            let e = x.map { exp($0 - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }

        def chunked_scan(q, k, v, chunk_size=64):
            state = torch.zeros(q.shape[-1], v.shape[-1])
            for start in range(0, q.shape[0], chunk_size):
                end = min(start + chunk_size, q.shape[0])
                yield q[start:end] @ state
                state = state + k[start:end].T @ v[start:end]

        for (int i = 0; i < n; ++i) {
        	if (x[i] > threshold && !skip[i]) {
        		y[i] = alpha * x[i] + beta;	// scaled copy
        	}
        }

        | kernel | tokens/s | GFLOP/s |
        |---|---|---|
        | delta rule | 203,000 | 293.0 |
        Die Zustandsgröße bleibt fest, während die Länge der Eingabe wächst; größere Modelle brauchen mehr Speicher.
        Le modèle lit un jeton à la fois et met à jour son état sans relire le début du texte.
        Модель обновляет состояние для каждого нового токена.
        線形再帰モデルは、文脈が長くなっても一定の状態を保ちます。
        线性循环模型在生成每个新词时只更新固定大小的状态。
        선형 순환 모델은 고정된 크기의 상태를 유지합니다.
        النموذج يحدّث حالته مع كل رمز جديد.
        Results: ✅ passed 91, ❌ failed 0 — great work 🎉🚀 (see 👩‍💻 notes).
        TODO(2026-12-01): measure again with T = 16,384 and B = 8; compare against the previous 4.2x speed-up.
            Indented lines keep their leading spaces, and trailing spaces too.   
        Well... that's it!!! Or is it??? (Probably not.) [citation needed] {braces} <angle> ~tilde~ `code`
        """#
}
