import Decoding
import Foundation
import Store

/// The HDF5 file of a side-by-side experiment, written atomically and readable back.
///
/// Layout (`format` = `ppd-experiment/1`): the run's settings as attributes of `/`;
/// `/questions` and `/question_ids` (strings); `/prompt_tokens` (all prompts' ids, concatenated)
/// with `/prompt_lengths`; one group per method under `/runs/<name>` with the method's attributes
/// and its summary (`order`, `tokens_per_second`, `tau`, `mean_rows`, `mean_forward_seconds`, `speedup`,
/// `identical_to_baseline`)
/// as attributes, and datasets per run (`run_question`, `run_round`, `run_prefill_seconds`,
/// `run_stop_reason`, `run_tokens` = generated counts, `tokens` = all generated ids concatenated)
/// and per step (`step_run`, `step_rows`, `step_nodes`, `step_depth`, `step_accepted`,
/// `step_emitted`, `step_seconds`, `step_forward_seconds`, `step_draft_rows`,
/// `step_accepted_drafted`). The first method is the baseline of `speedup`. A file of several
/// results (`write(parts:settings:to:)`) holds each under `/parts/<name>` with this layout.
public struct ExperimentResultFile {
    /// The format name written to `/`'s `format` attribute.
    public static let format = "ppd-experiment/1"

    /// One method's record.
    public struct Method {
        public var name: String
        public var attributes: [String: AttributeValue]
        /// `runs[question][round]`.
        public var summary: RunSummary
    }

    /// Settings of the run (attributes of `/`, `format` included).
    public var settings: [String: AttributeValue]
    public var questions: [BenchmarkQuestion]
    public var methods: [Method]

    /// A record of `methods` (with their summaries) on `questions`.
    public init(settings: [String: AttributeValue], questions: [BenchmarkQuestion], methods: [DecodingMethod], summaries: [RunSummary]) {
        self.settings = settings
        self.questions = questions
        self.methods = zip(methods, summaries).map { Method(name: $0.name, attributes: $0.attributes, summary: $1) }
    }

    /// Writes the file at `path` (a temporary file renamed into place; nothing at `path` on failure).
    public func write(to path: String) throws {
        try Self.write(parts: [], single: self, to: path)
    }

    /// Writes several results into one file, each under `/parts/<name>` with the layout above
    /// (for example one per benchmark); `settings` go to `/`.
    public static func write(parts: [(name: String, result: ExperimentResultFile)], settings: [String: AttributeValue], to path: String) throws {
        try write(parts: parts, single: ExperimentResultFile(settings: settings, questions: [], methods: [], summaries: []), to: path)
    }

    private static func write(parts: [(name: String, result: ExperimentResultFile)], single: ExperimentResultFile, to path: String) throws {
        let h5 = try HDF5File.create(path: path)
        do {
            var attributes = single.settings
            attributes["format"] = .string(format)
            for (name, value) in attributes { try h5.setAttribute(name, value) }
            if parts.isEmpty {
                try single.write(into: h5, at: "")
            } else {
                try h5.createGroup("/parts")
                for (order, part) in parts.enumerated() {
                    let root = "/parts/\(part.name)"
                    try h5.createGroup(root)
                    try h5.setAttribute("order", .int(Int64(order)), on: root)
                    for (name, value) in part.result.settings { try h5.setAttribute(name, value, on: root) }
                    try part.result.write(into: h5, at: root)
                }
            }
            try h5.close()
        } catch {
            h5.discard()
            throw error
        }
    }

    private func write(into h5: HDF5File, at root: String) throws {
        try h5.writeStrings(root + "/questions", questions.map(\.text))
        try h5.writeStrings(root + "/question_ids", questions.map(\.id))
        try h5.writeStrings(root + "/question_categories", questions.map(\.category))
        let prompts = methods.first?.summary.runs.map { $0.first?.prompt ?? [] } ?? []
        try h5.writeDataset(root + "/prompt_tokens", prompts.flatMap { $0 })
        try h5.writeDataset(root + "/prompt_lengths", prompts.map { Int32($0.count) })
        try h5.createGroup(root + "/runs")
        let baseline = methods.first?.summary
        for (order, method) in methods.enumerated() {
            try write(method, group: root + "/runs/\(method.name)", order: order, baseline: baseline, into: h5)
        }
    }

    private func write(_ method: Method, group: String, order: Int, baseline: RunSummary?, into h5: HDF5File) throws {
        try h5.createGroup(group)
        let summary = method.summary
        var attributes = method.attributes
        attributes["order"] = .int(Int64(order))
        attributes["tokens_per_second"] = .double(summary.tokensPerSecond)
        attributes["tau"] = .double(summary.tau)
        attributes["mean_rows"] = .double(summary.meanRows)
        attributes["mean_forward_seconds"] = .double(summary.meanForwardSeconds)
        attributes["speedup"] = .double(baseline.map { summary.speedup(over: $0) } ?? .nan)
        attributes["identical_to_baseline"] = .bool(baseline.map { summary.sameTokens(as: $0) } ?? true)
        for (name, value) in attributes { try h5.setAttribute(name, value, on: group) }
        var runQuestion: [Int32] = [], runRound: [Int32] = [], prefill: [Double] = [], generated: [Int32] = []
        var stops: [String] = [], tokens: [Int32] = []
        var steps: [(run: Int32, step: DecodingRun.Step)] = []
        for (q, rounds) in summary.runs.enumerated() {
            for (r, run) in rounds.enumerated() {
                steps += run.steps.map { (Int32(runQuestion.count), $0) }
                runQuestion.append(Int32(q))
                runRound.append(Int32(r))
                prefill.append(run.prefillSeconds)
                generated.append(Int32(run.tokens.count))
                stops.append(run.stopReason.rawValue)
                tokens += run.tokens
            }
        }
        try h5.writeDataset(group + "/run_question", runQuestion)
        try h5.writeDataset(group + "/run_round", runRound)
        try h5.writeDataset(group + "/run_prefill_seconds", prefill)
        try h5.writeDataset(group + "/run_tokens", generated)
        try h5.writeStrings(group + "/run_stop_reason", stops)
        try h5.writeDataset(group + "/tokens", tokens)
        try h5.writeDataset(group + "/step_run", steps.map(\.run))
        try h5.writeDataset(group + "/step_rows", steps.map { Int32($0.step.rows) })
        try h5.writeDataset(group + "/step_nodes", steps.map { Int32($0.step.nodes) })
        try h5.writeDataset(group + "/step_depth", steps.map { Int32($0.step.depth) })
        try h5.writeDataset(group + "/step_accepted", steps.map { Int32($0.step.accepted) })
        try h5.writeDataset(group + "/step_emitted", steps.map { Int32($0.step.emitted) })
        try h5.writeDataset(group + "/step_seconds", steps.map(\.step.seconds))
        try h5.writeDataset(group + "/step_forward_seconds", steps.map(\.step.forwardSeconds))
        try h5.writeDataset(group + "/step_draft_rows", steps.map { Int32($0.step.draftRows) })
        try h5.writeDataset(group + "/step_accepted_drafted", steps.map { Int32($0.step.acceptedDrafted) })
    }

    /// Reads a file written by `write(to:)`; errors name the file and what is wrong.
    public static func read(from path: String) throws -> ExperimentResultFile {
        let h5 = try open(path)
        defer { try? h5.close() }
        var file = try read(h5, at: "", file: path)
        for name in try h5.attributeNames() { file.settings[name] = try h5.attribute(name) }
        return file
    }

    /// The parts of a file written by `write(parts:settings:to:)`, in their order, and the
    /// settings of `/`.
    public static func readParts(from path: String) throws -> (settings: [String: AttributeValue], parts: [(name: String, result: ExperimentResultFile)]) {
        let h5 = try open(path)
        defer { try? h5.close() }
        var settings: [String: AttributeValue] = [:]
        for name in try h5.attributeNames() { settings[name] = try h5.attribute(name) }
        guard try h5.contains("/parts") else { throw EvaluationError(file: path, "no /parts group: a single result (read(from:))") }
        var parts: [(order: Int64, name: String, result: ExperimentResultFile)] = []
        for name in try h5.children(of: "/parts") {
            let root = "/parts/\(name)"
            var result = try read(h5, at: root, file: path)
            for key in try h5.attributeNames(of: root) { result.settings[key] = try h5.attribute(key, of: root) }
            parts.append((result.settings["order"]?.intValue ?? 0, name, result))
        }
        return (settings, parts.sorted { $0.order < $1.order }.map { ($0.name, $0.result) })
    }

    private static func open(_ path: String) throws -> HDF5File {
        let h5 = try HDF5File.open(path: path)
        guard (try? h5.attribute("format"))?.stringValue == format else {
            try? h5.close()
            throw EvaluationError(file: path, "not a \(format) file (the `format` attribute of / differs or is missing)")
        }
        return h5
    }

    private static func read(_ h5: HDF5File, at root: String, file path: String) throws -> ExperimentResultFile {
        let texts = try h5.readStrings(root + "/questions"), ids = try h5.readStrings(root + "/question_ids")
        let categories = try h5.readStrings(root + "/question_categories")
        guard ids.count == texts.count, categories.count == texts.count else {
            throw EvaluationError(file: path, "\(root)/questions, question_ids and question_categories differ in length")
        }
        let questions = texts.indices.map { BenchmarkQuestion(id: ids[$0], category: categories[$0], text: texts[$0]) }
        let prompts = try split(
            h5.readDataset(root + "/prompt_tokens", as: Int32.self), lengths: h5.readDataset(root + "/prompt_lengths"), file: path)
        var methods: [Method] = []
        for name in try h5.children(of: root + "/runs") {
            methods.append(try readMethod(root + "/runs/\(name)", name: name, prompts: prompts, from: h5, file: path))
        }
        var file = ExperimentResultFile(settings: [:], questions: questions, methods: [], summaries: [])
        file.methods = methods.sorted { ($0.attributes["order"]?.intValue ?? 0) < ($1.attributes["order"]?.intValue ?? 0) }
        return file
    }

    private static func readMethod(_ group: String, name: String, prompts: [[Int32]], from h5: HDF5File, file: String) throws -> Method {
        var attributes: [String: AttributeValue] = [:]
        for key in try h5.attributeNames(of: group) { attributes[key] = try h5.attribute(key, of: group) }
        let question: [Int32] = try h5.readDataset(group + "/run_question"), round: [Int32] = try h5.readDataset(group + "/run_round")
        let prefill: [Double] = try h5.readDataset(group + "/run_prefill_seconds")
        let stops = try h5.readStrings(group + "/run_stop_reason")
        let tokens = try split(h5.readDataset(group + "/tokens"), lengths: h5.readDataset(group + "/run_tokens"), file: file)
        let stepRun: [Int32] = try h5.readDataset(group + "/step_run")
        let columns: [[Int32]] = try ["rows", "nodes", "depth", "accepted", "emitted", "draft_rows", "accepted_drafted"].map {
            try h5.readDataset(group + "/step_" + $0)
        }
        let seconds: [Double] = try h5.readDataset(group + "/step_seconds")
        let forward: [Double] = try h5.readDataset(group + "/step_forward_seconds")
        let runCount = question.count
        guard round.count == runCount, prefill.count == runCount, stops.count == runCount, tokens.count == runCount,
            columns.allSatisfy({ $0.count == stepRun.count }), seconds.count == stepRun.count, forward.count == stepRun.count,
            stepRun.allSatisfy({ $0 >= 0 && Int($0) < runCount }), question.allSatisfy({ $0 >= 0 && Int($0) < prompts.count })
        else { throw EvaluationError(file: file, "\(group): the run and step datasets do not fit together") }
        var runs: [[DecodingRun]] = prompts.map { _ in [] }
        var stepsOfRun: [[DecodingRun.Step]] = Array(repeating: [], count: runCount)
        for i in stepRun.indices {
            let c = columns.map { Int($0[i]) }
            stepsOfRun[Int(stepRun[i])].append(DecodingRun.Step(
                rows: c[0], nodes: c[1], depth: c[2], accepted: c[3], emitted: c[4], seconds: seconds[i], forwardSeconds: forward[i],
                draftRows: c[5], acceptedDrafted: c[6]))
        }
        for r in 0..<runCount {
            guard let stop = StopReason(rawValue: stops[r]) else { throw EvaluationError(file: file, "\(group): unknown stop reason \(stops[r])") }
            let q = Int(question[r])
            runs[q].append(DecodingRun(prompt: prompts[q], tokens: tokens[r], stopReason: stop, prefillSeconds: prefill[r], steps: stepsOfRun[r]))
        }
        return Method(name: name, attributes: attributes, summary: RunSummary(runs: runs))
    }

    private static func split(_ values: [Int32], lengths: [Int32], file: String) throws -> [[Int32]] {
        guard lengths.allSatisfy({ $0 >= 0 }), lengths.reduce(0, { $0 + Int($1) }) == values.count else {
            throw EvaluationError(file: file, "token lengths do not add up to the tokens stored")
        }
        var out: [[Int32]] = []
        var start = 0
        for length in lengths {
            out.append(Array(values[start..<start + Int(length)]))
            start += Int(length)
        }
        return out
    }
}
