using System.Data.Common;

namespace CallVault.Jobs.AdoNet;

/// <summary>A connection, and the transaction of the write unit when there is one: the statements a role runs.</summary>
public sealed class SqlSession
{
    private List<Func<Task>>? _afterCommit;

    internal SqlSession(DbConnection connection, DbTransaction? transaction)
    {
        Connection = connection;
        Transaction = transaction;
    }

    /// <summary>The open connection.</summary>
    public DbConnection Connection { get; }

    /// <summary>The write unit's transaction; null for reads.</summary>
    public DbTransaction? Transaction { get; }

    /// <summary>Queues an action to run once the write unit has committed (never when it rolls back).</summary>
    /// <exception cref="InvalidOperationException">The session is a read, with no transaction to wait for.</exception>
    public void AfterCommit(Func<Task> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (Transaction is null)
        {
            throw new InvalidOperationException("Only a write unit has a commit to run actions after.");
        }

        (_afterCommit ??= []).Add(action);
    }

    internal async Task RunAfterCommitAsync()
    {
        foreach (var action in _afterCommit ?? [])
        {
            await action().ConfigureAwait(false);
        }
    }

    /// <summary>Runs a statement; returns the rows it changed.</summary>
    public async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs a query for one value; DBNull and no row become null.</summary>
    public async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return value is DBNull ? null : value;
        }
    }

    /// <summary>Runs a query and maps each row.</summary>
    public async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(map);
        var command = Command(sql, parameters);
        await using (command.ConfigureAwait(false))
        {
            var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await using (reader.ConfigureAwait(false))
            {
                var rows = new List<T>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(map(reader));
                }

                return rows;
            }
        }
    }

    private DbCommand Command(string sql, (string Name, object? Value)[] parameters)
    {
        var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = Transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
