/**
 * SGD with momentum in PyTorch's formulation (torch.optim.SGD, dampening 0, no Nesterov):
 *   g <- grad + weightDecay * p        (L2 weight decay, applied to EVERY trainable parameter:
 *                                       conv and dense kernels, dense bias, batch-norm gamma and beta,
 *                                       as torch.optim.SGD(model.parameters(), weight_decay=1e-4) in
 *                                       the reference trainer akamaster/pytorch_resnet_cifar10)
 *   v <- momentum * v + g              (v starts at 0, so the first step has v = g as in PyTorch)
 *   p <- p - lr * v
 * The learning rate is an argument of every step, set from the schedule each iteration.
 */
import * as tf from '@tensorflow/tfjs';
import { SGD_UPDATE } from '../engine/wasm/fused-step';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
}

export interface Sgd {
  options: SgdOptions;
  /** Momentum buffers, one per variable (same order). */
  velocities: tf.Variable[];
  /**
   * Applies one update.
   * @param grads gradients keyed by variable name
   * @param learningRate lr for this iteration (> 0)
   */
  step(grads: tf.NamedTensorMap, learningRate: number): void;
  dispose(): void;
}

/** Creates the optimizer for `variables`. @throws RangeError on momentum outside [0, 1) or negative weight decay */
export function createSgd(variables: tf.Variable[], options: SgdOptions): Sgd {
  const { momentum, weightDecay } = options;
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`momentum must be in [0, 1), got ${momentum}`);
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) throw new RangeError(`weightDecay must be >= 0, got ${weightDecay}`);
  const velocities = variables.map((v) => tf.variable(tf.zerosLike(v), false, `${v.name}_velocity`));
  return {
    options,
    velocities,
    step(grads, learningRate) {
      if (tf.getKernel(SGD_UPDATE, tf.getBackend()) != null) {
        // one pass per variable, the same float32 operations as below (src/engine/wasm/fused-step.ts)
        variables.forEach((p, i) => {
          const g = grads[p.name];
          if (!g) throw new Error(`no gradient for variable ${p.name}`);
          const v = velocities[i];
          const [pNew, vNew] = tf.engine().runKernel(SGD_UPDATE, { p, v, g }, { learningRate, momentum, weightDecay }) as tf.Tensor[];
          v.assign(vNew);
          p.assign(pNew);
          pNew.dispose();
          vNew.dispose();
        });
        return;
      }
      tf.tidy(() => {
        const lr = tf.scalar(learningRate);
        const mu = tf.scalar(momentum);
        const wd = tf.scalar(weightDecay);
        variables.forEach((p, i) => {
          const g = grads[p.name];
          if (!g) throw new Error(`no gradient for variable ${p.name}`);
          const gWithDecay = weightDecay > 0 ? tf.add(g, tf.mul(wd, p)) : g;
          const v = velocities[i];
          v.assign(tf.add(tf.mul(mu, v), gWithDecay));
          p.assign(tf.sub(p, tf.mul(lr, v)));
        });
      });
    },
    dispose: () => velocities.forEach((v) => v.dispose()),
  };
}
