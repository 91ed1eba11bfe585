# The heteroscedastic regressor in TFP: the Keras model trained above. From the chapter: keras_model
# (Dense(50, tanh) -> Dense(2) -> tfp.layers.IndependentNormal(1)) and x, y float32 arrays (N, 1).
predictive = keras_model(x)                # Independent(Normal(loc, softplus(r))): batch (N,), event (1,)
log_prob = predictive.log_prob(y).numpy()  # (N,)
