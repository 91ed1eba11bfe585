"""Grading contract of ex05_heteroscedastic_regression: correct variants and common mistakes.

Every case replaces the one solution cell, ``HeteroscedasticMLP``, by a whole
class. The training test (``test_training``) trains a fresh model in the kernel
with a fixed routine and scores it on 10,000 held-out points only the grader
sees: held-out NLL < 0.50 nats and 90% coverage in [0.80, 0.96]. Spreads of that
check over 20 initialisation seeds (seed=0..19, measured when it was written):
reference (2x50 tanh) NLL 0.366-0.472, coverage 0.848-0.900; one tanh layer
0.363-0.390 / 0.876-0.894; 2x50 ReLU 0.370-0.407 / 0.862-0.889; homoscedastic
0.605-0.634 (fails for all 20).
"""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex05_heteroscedastic_regression"

OUT, POS, GRAD, TRAIN = "test_output", "test_positive_scale", "test_gradients", "test_training"
CELL = "HeteroscedasticMLP"

HEADER = (
    "class HeteroscedasticMLP(nn.Module):\n"
    "    def __init__(self, in_features, hidden_features):\n"
    "        super().__init__()\n"
)

# The reference body, with a hook for the scale transform and the returned object.
TWO_LAYER_INIT = (
    "        self.body = nn.Sequential(nn.Linear(in_features, hidden_features), nn.Tanh(),\n"
    "                                  nn.Linear(hidden_features, hidden_features), nn.Tanh())\n"
    "        self.head = nn.Linear(hidden_features, 2)\n"
)


def mlp(forward_body: str, init: str = TWO_LAYER_INIT) -> str:
    """A class with the reference layers and the given forward body (after ``out = ...``)."""
    return (
        HEADER + init + "\n"
        "    def forward(self, x):\n"
        "        out = self.head(self.body(x))\n"
        + forward_body
        + "\n"
    )


def scale_transform(expr: str) -> str:
    """Reference class with ``scale = <expr>`` where ``raw = out[:, 1:]``."""
    return mlp(
        "        raw = out[:, 1:]\n"
        f"        scale = {expr}\n"
        "        return torch.distributions.Normal(out[:, :1], scale)"
    )


CORRECT = [
    Case(
        "correct_two_networks",
        "full",
        description="Vink's layout: separate ReLU networks for the mean and the log-scale, softplus + floor",
        replace={
            CELL: HEADER
            + "        def net():\n"
            "            return nn.Sequential(nn.Linear(in_features, hidden_features), nn.ReLU(),\n"
            "                                 nn.Linear(hidden_features, hidden_features), nn.ReLU(),\n"
            "                                 nn.Linear(hidden_features, 1))\n"
            "        self.mu = net()\n"
            "        self.rho = net()\n"
            "\n"
            "    def forward(self, x):\n"
            "        return torch.distributions.Normal(self.mu(x), F.softplus(self.rho(x)).clamp_min(1e-4))\n"
        },
    ),
    Case(
        "correct_one_layer_logaddexp",
        "full",
        description="one tanh hidden layer, float64 internally, sigma = logaddexp(0, r) + 1e-3 as a Parameter-free module",
        replace={
            CELL: HEADER
            + "        self.hidden = nn.Linear(in_features, hidden_features)\n"
            "        self.mean = nn.Linear(hidden_features, 1)\n"
            "        self.raw_scale = nn.Linear(hidden_features, 1)\n"
            "\n"
            "    def forward(self, x):\n"
            "        h = torch.tanh(self.hidden(x))\n"
            "        r = self.raw_scale(h)\n"
            "        sigma = torch.logaddexp(torch.zeros_like(r), r) + 1e-3\n"
            "        return torch.distributions.Normal(loc=self.mean(h), scale=sigma)\n"
        },
    ),
    Case(
        "correct_exp_clamped",
        "full",
        description="exp of a clamped log-scale plus a floor, SiLU hidden layers",
        replace={
            CELL: HEADER
            + "        self.net = nn.Sequential(nn.Linear(in_features, hidden_features), nn.SiLU(),\n"
            "                                 nn.Linear(hidden_features, hidden_features), nn.SiLU(),\n"
            "                                 nn.Linear(hidden_features, 2))\n"
            "\n"
            "    def forward(self, x):\n"
            "        mu, log_sigma = self.net(x).chunk(2, dim=-1)\n"
            "        return torch.distributions.Normal(mu, torch.exp(log_sigma.clamp(-7.0, 7.0)) + 1e-3)\n"
        },
    ),
]

# Shape and type mistakes: each loses test_output.
WRONG_OUTPUT = [
    ("returns_tuple", "returns the tuple (mu, sigma) instead of a Normal",
     mlp("        return out[:, :1], F.softplus(out[:, 1:]) + 1e-3")),
    ("batch_shape_n", "batch shape (N,) instead of (N, 1)",
     mlp("        return torch.distributions.Normal(out[:, 0], F.softplus(out[:, 1]) + 1e-3)")),
    ("broadcast_n_by_n", "loc of shape (N,) with scale of shape (N, 1): broadcasts to (N, N)",
     mlp("        return torch.distributions.Normal(out[:, 0], F.softplus(out[:, 1:]) + 1e-3)")),
    ("independent_event", "wrapped in Independent: batch shape (N,), event shape (1,)",
     mlp("        base = torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)\n"
         "        return torch.distributions.Independent(base, 1)")),
    ("one_normal_two_outputs", "one Normal over both outputs: batch shape (N, 2)",
     mlp("        return torch.distributions.Normal(out, F.softplus(out) + 1e-3)")),
    ("ignores_hidden_features", "hidden layers of a fixed width 32 whatever hidden_features says (issue #11)",
     mlp("        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)",
         init=TWO_LAYER_INIT.replace("hidden_features", "32"))),
    ("in_features_hardcoded", "the first layer ignores in_features (always 1 input)",
     mlp("        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)",
         init=TWO_LAYER_INIT.replace("nn.Linear(in_features,", "nn.Linear(1,"))),
]

# Positivity mistakes: each loses test_positive_scale.
WRONG_POSITIVE = [
    ("raw_linear_scale", "the raw linear output used as the scale (no positivity transform)",
     scale_transform("raw")),
    ("relu_scale", "ReLU as the positivity transform (zero for negative outputs)",
     scale_transform("F.relu(raw)")),
    ("sqrt_of_raw_variance", "the raw output taken as a variance and square-rooted (NaN when negative)",
     scale_transform("torch.sqrt(raw)")),
    ("tanh_scale", "tanh as the positivity transform (negative half the time)",
     scale_transform("torch.tanh(raw)")),
    ("elu_scale", "ELU without the +1 (negative down to -1)",
     scale_transform("F.elu(raw)")),
    ("softplus_no_floor_log", "log of softplus as the scale (negative below softplus = 1)",
     scale_transform("torch.log(F.softplus(raw) + 1e-3)")),
]

# Gradient mistakes: each loses test_gradients.
WRONG_GRADIENTS = [
    ("detached_loc", "the mean detached from the graph",
     mlp("        return torch.distributions.Normal(out[:, :1].detach(), F.softplus(out[:, 1:]) + 1e-3)")),
    ("no_grad_forward", "forward wrapped in torch.no_grad()",
     HEADER + TWO_LAYER_INIT + "\n"
     "    def forward(self, x):\n"
     "        with torch.no_grad():\n"
     "            out = self.head(self.body(x))\n"
     "        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)\n"),
    ("numpy_round_trip", "the outputs converted through numpy",
     mlp("        out = torch.tensor(out.detach().numpy())\n"
         "        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)")),
    ("layers_in_plain_list", "hidden layers kept in a Python list: not registered, never trained (issue #11)",
     HEADER + "        self.layers = [nn.Linear(in_features, hidden_features), nn.Linear(hidden_features, hidden_features)]\n"
     "        self.head = nn.Linear(hidden_features, 2)\n\n"
     "    def forward(self, x):\n"
     "        h = torch.tanh(self.layers[1](torch.tanh(self.layers[0](x))))\n"
     "        out = self.head(h)\n"
     "        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)\n"),
    ("scale_through_item_loop", "the scale rebuilt element by element from Python floats",
     mlp("        scale = torch.tensor([[F.softplus(r).item() + 1e-3] for r in out[:, 1]])\n"
         "        return torch.distributions.Normal(out[:, :1], scale)")),
    ("detached_scale", "the scale computed from a detached output",
     mlp("        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:].detach()) + 1e-3)")),
]

# Modelling mistakes: each loses test_training (and some test_gradients too).
HOMOSCEDASTIC = (
    HEADER
    + "        self.net = nn.Sequential(nn.Linear(in_features, hidden_features), nn.Tanh(),\n"
    "                                 nn.Linear(hidden_features, hidden_features), nn.Tanh(),\n"
    "                                 nn.Linear(hidden_features, 1))\n"
    "        self.raw_sigma = nn.Parameter(torch.zeros(1))\n"
    "\n"
    "    def forward(self, x):\n"
    "        mu = self.net(x)\n"
    "        return torch.distributions.Normal(mu, (F.softplus(self.raw_sigma) + 1e-3).expand_as(mu))\n"
)
FIXED_SIGMA = (
    HEADER
    + "        self.net = nn.Sequential(nn.Linear(in_features, hidden_features), nn.Tanh(),\n"
    "                                 nn.Linear(hidden_features, hidden_features), nn.Tanh(),\n"
    "                                 nn.Linear(hidden_features, 1))\n"
    "\n"
    "    def forward(self, x):\n"
    "        mu = self.net(x)\n"
    "        return torch.distributions.Normal(mu, torch.ones_like(mu))\n"
)
WRONG_TRAINING = [
    ("homoscedastic", "one learnt sigma for every input", HOMOSCEDASTIC, (GRAD, TRAIN)),
    ("fixed_sigma_one", "a mean-only network with sigma fixed to 1", FIXED_SIGMA, (GRAD, TRAIN)),
    ("no_hidden_layer", "a linear model (no hidden layer)",
     HEADER + "        self.linear = nn.Linear(in_features, 2)\n\n"
     "    def forward(self, x):\n"
     "        out = self.linear(x)\n"
     "        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)\n",
     (TRAIN,)),
    ("no_nonlinearity", "hidden layers without an activation (a linear model in disguise)",
     mlp("        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)",
         init="        self.body = nn.Sequential(nn.Linear(in_features, hidden_features),\n"
              "                                  nn.Linear(hidden_features, hidden_features))\n"
              "        self.head = nn.Linear(hidden_features, 2)\n"),
     (TRAIN,)),
    ("activation_on_output", "tanh after the output layer: the mean is stuck in (-1, 1)",
     mlp("        out = torch.tanh(out)\n"
         "        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)"),
     (TRAIN,)),
    ("large_floor", "a floor of 0.5 on sigma, larger than the smallest true noise",
     scale_transform("F.softplus(raw) + 0.5"), (TRAIN,)),
    ("scale_from_input", "the scale a function of the input alone (softplus of x), not learnt",
     mlp("        return torch.distributions.Normal(out[:, :1], F.softplus(x[:, :1]) + 1e-3)"),
     (GRAD, TRAIN)),
]

WRONG = (
    mistakes("out", CELL, (OUT,), WRONG_OUTPUT)
    + mistakes("pos", CELL, (POS,), WRONG_POSITIVE)
    + mistakes("grad", CELL, (GRAD,), WRONG_GRADIENTS)
    + mistakes("train", CELL, (), WRONG_TRAINING)
)

ROBUSTNESS = robustness_cases(
    tamper=(TRAIN, {CELL: HOMOSCEDASTIC}, (TRAIN,)),
    tamper_with="print('all good')",
    edit_correct=OUT,
    edit_with="pass",
    delete=(POS, {CELL: scale_transform("raw")}, (POS,)),
    raises=(CELL, "", (OUT, POS, GRAD, TRAIN)),
    raises_name="raises_at_definition",
    never_returns=(CELL, mlp("        while x.shape[0] > 5000:\n            pass\n"
                             "        return torch.distributions.Normal(out[:, :1], F.softplus(out[:, 1:]) + 1e-3)"),
                   (TRAIN,)),
    descriptions={
        "tampered_test_cell": "a homoscedastic model whose training test was replaced: restored, still fails",
        "raises_at_definition": "a solution cell that raises: every part scores 0, the batch goes on",
        "infinite_loop": "a forward that never returns for the 10 000 test points: the cell times out",
    },
)

CASES = CORRECT + WRONG + ROBUSTNESS
