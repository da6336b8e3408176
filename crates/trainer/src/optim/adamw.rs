//! Tests of the `adamw` config section (Burn's `AdamW`, built by
//! [`optimizer::build`](crate::optimizer::build)) against PyTorch's
//! definition of AdamW (`torch.optim.AdamW`, amsgrad off, maximize off).

#[cfg(test)]
mod tests {
    use crate::optim::testing::{self, Reference};
    use mnist_config::OptimizerConfig;
    use crate::optimizer::build;

    /// `torch.optim.AdamW`'s algorithm, as its documentation writes it, in plain `f64`:
    ///
    /// ```text
    /// theta_t = theta_{t-1} - lr * weight_decay * theta_{t-1}
    /// m_t = beta_1 m_{t-1} + (1 - beta_1) g_t;   v_t = beta_2 v_{t-1} + (1 - beta_2) g_t^2
    /// theta_t = theta_t - lr * (m_t / (1 - beta_1^t)) / (sqrt(v_t / (1 - beta_2^t)) + epsilon)
    /// ```
    struct PyTorchAdamW {
        beta_1: f64,
        beta_2: f64,
        epsilon: f64,
        weight_decay: f64,
        t: i32,
        m: Vec<f64>,
        v: Vec<f64>,
    }

    impl Reference for PyTorchAdamW {
        fn step(&mut self, lr: f64, params: &mut [f64], grads: &[f64]) {
            self.t += 1;
            for ((theta, &g), (m, v)) in params.iter_mut().zip(grads).zip(self.m.iter_mut().zip(&mut self.v)) {
                *theta -= lr * self.weight_decay * *theta;
                *m = self.beta_1 * *m + (1.0 - self.beta_1) * g;
                *v = self.beta_2 * *v + (1.0 - self.beta_2) * g * g;
                let m_hat = *m / (1.0 - self.beta_1.powi(self.t));
                let v_hat = *v / (1.0 - self.beta_2.powi(self.t));
                *theta -= lr * m_hat / (v_hat.sqrt() + self.epsilon);
            }
        }
    }

    fn config() -> OptimizerConfig {
        OptimizerConfig::Adamw { beta_1: 0.85, beta_2: 0.99, epsilon: 1e-3, weight_decay: 0.3 }
    }

    fn reference() -> PyTorchAdamW {
        PyTorchAdamW {
            beta_1: 0.85,
            beta_2: 0.99,
            epsilon: 1e-3,
            weight_decay: 0.3,
            t: 0,
            m: vec![0.0; testing::N_PARAMS],
            v: vec![0.0; testing::N_PARAMS],
        }
    }

    #[test]
    fn six_steps_match_pytorchs_definition() {
        testing::assert_matches_reference(build(&config()), reference(), 0.05, 6);
    }

    #[test]
    fn the_decay_is_decoupled_from_the_gradient() {
        // With weight decay 0 it is Adam; with decay the parameters shrink by lr · wd · theta on
        // top of the Adam step, not through the moments (as L2 in the gradient would).
        let plain = testing::loss_curve(build(&OptimizerConfig::Adamw { beta_1: 0.85, beta_2: 0.99, epsilon: 1e-3, weight_decay: 0.0 }), 0.05, 4);
        let adam = testing::loss_curve(crate::optim::FusedAdamConfig { beta_1: 0.85, beta_2: 0.99, epsilon: 1e-3 }.init(), 0.05, 4);
        for (a, b) in plain.iter().zip(&adam) {
            assert!((a - b).abs() <= 1e-5 * b.abs(), "AdamW with no decay {a}, Adam {b}");
        }
        let decayed = testing::loss_curve(build(&config()), 0.05, 4);
        assert!((decayed[4] - plain[4]).abs() > 1e-4, "the decay changed nothing");
    }

    #[test]
    fn state_survives_save_and_load() {
        testing::assert_state_round_trips(|| build(&config()), 0.05, 3, 2);
    }
}
