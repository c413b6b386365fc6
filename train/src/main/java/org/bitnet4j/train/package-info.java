/**
 * Training BitNet b1.58 models in Java: the architecture of BitNet-b1.58-2B-4T at small scale, trained
 * quantisation-aware (ternary weights and int8 activations in the forward pass, straight-through gradients), and
 * exported as GGUF files whose loss under the inference engine equals the trainer's.
 *
 * <ul>
 *   <li>{@link org.bitnet4j.train.TrainingRun#run}: a whole run (BPE, tokens, training with checkpoints, export, engine
 *       check, baselines, plot) as the {@code train} command does it; {@link org.bitnet4j.train.TrainMain} is a plain
 *       command line for it.</li>
 *   <li>{@link org.bitnet4j.train.Trainer}: the loop (AdamW, two-stage schedule, validation, atomic checkpoints,
 *       bit-exact resume) with a {@link org.bitnet4j.train.Trainer.Listener} for progress.</li>
 *   <li>{@link org.bitnet4j.train.TrainModel}: forward and backward; {@code meanNll(params, tokens)} is the quantised
 *       loss of one sequence, the number the engine must reproduce on the exported file
 *       ({@link org.bitnet4j.train.EngineCheck}).</li>
 *   <li>{@link org.bitnet4j.train.Bpe}: byte-level BPE learned on the corpus (Llama 3 split), read by the engine's
 *       tokenizer exactly as trained; {@link org.bitnet4j.train.GgufExport}: I2_S / TQ2_0 / F32 files.</li>
 * </ul>
 *
 * Every op (embedding, RMSNorm, BitLinear, RoPE, attention, relu^2 gate, cross-entropy) has a hand-written backward
 * tested against finite differences; products run on one Vector API kernel ({@code Gemm}) split over rows only, so
 * results are identical for any thread count and a resumed run repeats an uninterrupted one bit for bit.
 */
package org.bitnet4j.train;
