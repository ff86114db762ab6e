from credit_platform.quality.drift import psi


def test_population_stability_index():
    assert psi({"A": 10, "B": 80, "C": 10}, {"A": 1, "B": 8, "C": 1}) == 0
    # an eighth of B moving to D is under the usual 0.25 line; B emptying into C is far over it
    assert 0.1 < psi({"A": 10, "B": 72, "C": 10, "D": 8}, {"A": 10, "B": 80, "C": 10}) < 0.25
    assert psi({"A": 10, "C": 90}, {"A": 10, "B": 80, "C": 10}) > 0.25
    # one subject entering an empty class of a small industry is not a shift
    assert psi({"B": 299, "D": 1}, {"B": 300}) < 0.01
