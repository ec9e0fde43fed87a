import inspect

import actors
import supervision


def test_actors_all_lists_exactly_the_public_names():
    public = {n for n in vars(actors) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(actors, n)).__name__ == "module"}
    assert set(actors.__all__) == public - modules - {"annotations"}
    assert len(actors.__all__) == len(set(actors.__all__))


def test_supervision_all_lists_exactly_the_public_names():
    public = {n for n in vars(supervision) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(supervision, n)).__name__ == "module"}
    assert set(supervision.__all__) == public - modules - {"annotations"}
    assert len(supervision.__all__) == len(set(supervision.__all__))


def test_every_public_name_has_a_docstring():
    for package in (actors, supervision):
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert (obj.__doc__ or "").strip(), f"{package.__name__}.{name} has no docstring"


def test_every_error_derives_from_regiment_error():
    errors = [getattr(actors, n) for n in actors.__all__ if n.endswith(("Error", "Failed"))]
    errors += [supervision.InvalidTree, supervision.EscalationError]
    for error in errors:
        if isinstance(error, type) and issubclass(error, BaseException):
            assert issubclass(error, actors.RegimentError), error


def test_both_packages_ship_py_typed():
    from importlib import resources

    assert resources.files("actors").joinpath("py.typed").is_file()
    assert resources.files("supervision").joinpath("py.typed").is_file()
