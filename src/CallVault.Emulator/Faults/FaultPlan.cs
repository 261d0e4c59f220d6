namespace CallVault.Emulator.Faults;

/// <summary>The faults waiting to hit requests, in the order they were added.</summary>
public sealed class FaultPlan
{
    private readonly Lock _lock = new();
    private readonly List<(FaultRule Rule, int Remaining)> _rules = [];
    private readonly Random _random;

    /// <summary>Creates a plan; a seed makes probabilistic faults repeatable.</summary>
    public FaultPlan(int? seed = null) => _random = seed is { } s ? new Random(s) : Random.Shared;

    /// <summary>The rules still in force.</summary>
    public IReadOnlyList<FaultRule> Rules
    {
        get
        {
            lock (_lock)
            {
                return [.. _rules.Select(r => r.Rule)];
            }
        }
    }

    /// <summary>Adds a rule.</summary>
    public void Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        lock (_lock)
        {
            _rules.Add((rule, rule.Count));
        }
    }

    /// <summary>Removes every rule.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _rules.Clear();
        }
    }

    /// <summary>The fault for a request, if one applies; a counted rule is used up by it.</summary>
    public FaultSpec? Take(string documentId, FaultTarget target)
    {
        lock (_lock)
        {
            for (var i = 0; i < _rules.Count; i++)
            {
                var (rule, remaining) = _rules[i];
                if ((rule.DocumentId is not null && rule.DocumentId != documentId)
                    || (rule.Target != FaultTarget.Any && rule.Target != target)
                    || (rule.Probability < 1 && _random.NextDouble() >= rule.Probability))
                {
                    continue;
                }

                if (remaining == 1)
                {
                    _rules.RemoveAt(i);
                }
                else if (remaining > 1)
                {
                    _rules[i] = (rule, remaining - 1);
                }

                return rule.Fault;
            }
        }

        return null;
    }
}
