import LRNNModels

/// ``/LRNNModels/CausalLM`` trains as it is: its parameter tree (`parameters()`,
/// `updating(parameters:)`, and in place `update(parameters:verify:)`, `modifyParameters(_:)`), its fla training loss with gradients (`lossAndGradients(inputIDs:labels:)`,
/// `loss(inputIDs:labels:)`) and its checkpoint writer (`write(to:dtype:)`, `config.json` and
/// `model.safetensors` as fla reads them) are the requirements of ``TrainableModel``.
extension CausalLM: TrainableModel {}
